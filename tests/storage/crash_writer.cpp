// Helper process for StorageSqliteTest: writes batches of 200 x 16 KiB rows to the
// SQLite database named in argv[1], printing "committed N" after each commit.
// Mode "pause": after 3 batches, fills batch 4, prints "inside 4" and waits to
// be killed. Mode "loop": writes batches until killed.

#include <boxoffice/storage/Database.h>

#include <cstdio>
#include <cstring>
#include <unistd.h>

using namespace boxoffice;
using namespace boxoffice::storage;

namespace {

void fill(Transaction& tx, int batch) {
    Bytes payload(16384);
    for (int i = 0; i < 200; ++i) {
        for (std::size_t j = 0; j < payload.size(); ++j) payload[j] = static_cast<std::uint8_t>(batch * 31 + i + j);
        tx.execute("INSERT INTO rows (batch, payload) VALUES (?, ?)", {batch, payload});
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <db file> pause|loop\n", argv[0]);
        return 2;
    }
    try {
        Database db(std::string("sqlite:") + argv[1]);
        db.migrate({"crash", {{"rows", {"CREATE TABLE rows (id {id_pk}, batch {int64} NOT NULL, payload {blob} NOT NULL)"}}}});
        const bool pause = std::strcmp(argv[2], "pause") == 0;
        for (int batch = 1;; ++batch) {
            if (pause && batch == 4) {
                Transaction tx = db.begin(Access::Write);
                fill(tx, batch);
                std::printf("inside %d\n", batch);
                std::fflush(stdout);
                for (;;) ::pause();
            }
            db.write([&](Transaction& tx) { fill(tx, batch); });
            std::printf("committed %d\n", batch);
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "crash_writer: %s\n", e.what());
        return 1;
    }
}
