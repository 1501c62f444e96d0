#include <boxoffice/billing/HistoryBatch.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/Hash.h>
#include <boxoffice/crypto/SealedBox.h>
#include <boxoffice/wire/Reader.h>
#include <boxoffice/wire/Writer.h>

#include <algorithm>

namespace boxoffice::billing {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kEnvelopeMagic[4] = {'B', 'O', 'H', 'B'};
constexpr std::uint8_t kContentMagic[4] = {'B', 'O', 'H', 'C'};
constexpr std::size_t kMaxRecordSize = 4096;
constexpr std::size_t kMaxSealedSize = 64 * 1024 * 1024;
constexpr wire::UnixTime kMaxTime = 253402300799;

void header(wire::Writer& w, const std::uint8_t (&magic)[4], const BatchHeader& h)
{
    w.fixed(ByteView(magic, 4));
    w.u8(kVersion);
    w.id("device_id", h.deviceId);
    w.id("server_key_id", h.serverKeyId);
    w.unsignedField("first_sequence", h.firstSequence, 1, UINT64_MAX, 8);
    w.unsignedField("last_sequence", h.lastSequence, h.firstSequence, UINT64_MAX, 8);
}

BatchHeader readHeaderFields(wire::Reader& r, const std::uint8_t (&magic)[4])
{
    const ByteView m = r.fixed("magic", 4);
    if (!std::equal(m.begin(), m.end(), magic)) r.fail("magic", "not a history batch");
    const auto version = r.unsignedField("version", 0, 255, 1);
    if (version != kVersion)
        throw Error(ErrorCode::UnsupportedVersion, "history batch version " + std::to_string(version) + " is not supported");
    BatchHeader h;
    h.deviceId = r.id("device_id");
    h.serverKeyId = r.id("server_key_id");
    h.firstSequence = r.unsignedField("first_sequence", 1, UINT64_MAX, 8);
    h.lastSequence = r.unsignedField("last_sequence", h.firstSequence, UINT64_MAX, 8);
    return h;
}

} // namespace

Bytes sealBatch(const std::vector<Bytes>& encodedRecords, const trust::DeviceIdentity& device,
                const wire::Certificate& serverCertificate, wire::UnixTime createdAt)
{
    if (encodedRecords.empty()) throw Error(ErrorCode::InvalidArgument, "history batch: no records");
    if (encodedRecords.size() > kMaxBatchRecords)
        throw Error(ErrorCode::InvalidArgument, "history batch: more than " + std::to_string(kMaxBatchRecords) + " records");
    if (serverCertificate.agreementKey.size() != crypto::x25519KeySize)
        throw Error(ErrorCode::Unavailable, "server certificate " + serverCertificate.keyId +
                                                " has no X25519 agreement key to seal the history to");

    BatchHeader h;
    h.deviceId = device.deviceId;
    h.serverKeyId = serverCertificate.keyId;
    std::array<std::uint8_t, 32> previousHash{};
    std::uint64_t expected = 0;
    for (const auto& encoded : encodedRecords) {
        const auto record = wire::HistoryRecord::decode(encoded);
        if (record.deviceId != device.deviceId)
            throw Error(ErrorCode::InvalidArgument, "history batch: record of device " + record.deviceId);
        if (expected == 0) {
            h.firstSequence = record.sequence;
            previousHash = record.previousHash;
        } else if (record.sequence != expected) {
            throw Error(ErrorCode::InvalidArgument, "history batch: records are not consecutive");
        }
        expected = record.sequence + 1;
    }
    h.lastSequence = expected - 1;
    h.recordCount = static_cast<std::uint32_t>(encodedRecords.size());

    wire::Writer content("history_batch");
    header(content, kContentMagic, h);
    content.fixed(previousHash);
    content.signedField("created_at", createdAt, 0, kMaxTime);
    content.u32(h.recordCount);
    for (const auto& encoded : encodedRecords) content.bytes("record", encoded, 1, kMaxRecordSize);
    const auto signer = device.signer();
    content.id("signer.key_id", signer.keyId());
    content.u8(static_cast<std::uint8_t>(signer.signer().algorithm));
    const Bytes signature = signer.sign(content.data());
    content.u8(static_cast<std::uint8_t>(signature.size()));
    content.fixed(signature);

    wire::Writer envelope("history_batch");
    header(envelope, kEnvelopeMagic, h);
    envelope.u32(h.recordCount);
    const Bytes aad = envelope.data();
    const auto recipient = crypto::X25519PublicKey::fromRaw(serverCertificate.agreementKey);
    envelope.bytes("sealed", crypto::sealTo(recipient, content.data(), aad), 1, kMaxSealedSize);
    return envelope.take();
}

namespace {

struct ParsedEnvelope {
    BatchHeader header;
    std::size_t aadSize = 0;
    Bytes sealed;
};

ParsedEnvelope parseEnvelope(ByteView envelope)
{
    wire::Reader r("history_batch", envelope);
    ParsedEnvelope p;
    p.header = readHeaderFields(r, kEnvelopeMagic);
    p.header.recordCount = static_cast<std::uint32_t>(r.unsignedField("record_count", 1, kMaxBatchRecords, 4));
    if (p.header.lastSequence - p.header.firstSequence + 1 != p.header.recordCount)
        r.fail("record_count", "does not match the sequence range");
    p.aadSize = r.offset();
    p.sealed = r.bytes("sealed", crypto::sealedBoxOverhead + 1, kMaxSealedSize);
    r.finish();
    return p;
}

} // namespace

BatchHeader peekBatch(ByteView envelope) { return parseEnvelope(envelope).header; }

OpenedBatch openBatch(ByteView envelope, const crypto::X25519PrivateKey& serverAgreementKey,
                      const std::string& serverKeyId, const trust::VerifyingKey& deviceKey)
{
    const auto p = parseEnvelope(envelope);
    if (p.header.serverKeyId != serverKeyId)
        throw Error(ErrorCode::WrongAudience, "history batch is sealed to server key " + p.header.serverKeyId);
    const auto content = crypto::openSealed(serverAgreementKey, p.sealed, envelope.first(p.aadSize));

    wire::Reader r("history_batch", content.view());
    OpenedBatch out;
    const BatchHeader inner = readHeaderFields(r, kContentMagic);
    if (inner.deviceId != p.header.deviceId || inner.serverKeyId != p.header.serverKeyId ||
        inner.firstSequence != p.header.firstSequence || inner.lastSequence != p.header.lastSequence)
        throw Error(ErrorCode::BadSignature, "history batch: sealed header differs from the clear one");
    out.header = p.header;
    const ByteView prev = r.fixed("previous_hash", 32);
    std::copy(prev.begin(), prev.end(), out.previousHash.begin());
    out.createdAt = r.signedField("created_at", 0, kMaxTime);
    const auto count = r.unsignedField("count", 1, kMaxBatchRecords, 4);
    if (count != p.header.recordCount) r.fail("count", "does not match the envelope");
    for (std::uint64_t i = 0; i < count; ++i) out.encoded.push_back(r.bytes("record", 1, kMaxRecordSize));
    wire::Signer signer;
    signer.keyId = r.id("signer.key_id");
    signer.algorithm = static_cast<wire::SignatureAlgorithm>(r.unsignedField("signer.algorithm", 1, 2, 1));
    const std::size_t signedSize = r.offset();
    const auto length = r.unsignedField("signature length", 32, wire::maxSignatureSize, 1);
    const ByteView signature = r.fixed("signature", length);
    r.finish();
    deviceKey.verify(signer, content.view().first(signedSize), signature, "history batch");

    std::array<std::uint8_t, 32> chain = out.previousHash;
    std::uint64_t sequence = p.header.firstSequence;
    for (const auto& encoded : out.encoded) {
        auto record = wire::HistoryRecord::decode(encoded);
        if (record.deviceId != p.header.deviceId)
            throw Error(ErrorCode::WrongAudience, "history batch: record " + std::to_string(record.sequence) +
                                                      " belongs to device " + record.deviceId);
        trust::verifySignature(record, deviceKey);
        if (record.sequence != sequence)
            throw Error(ErrorCode::Conflict, "history batch: record " + std::to_string(record.sequence) +
                                                 " where " + std::to_string(sequence) + " was expected");
        if (record.previousHash != chain)
            throw Error(ErrorCode::Conflict, "history batch: record " + std::to_string(sequence) +
                                                 " does not chain to the previous one");
        chain = crypto::sha256(encoded);
        ++sequence;
        out.records.push_back(std::move(record));
    }
    out.lastHash = chain;
    return out;
}

} // namespace boxoffice::billing
