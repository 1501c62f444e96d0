// The STB's remote-control input: reads Linux input events (evdev, e.g. an IR
// receiver's /dev/input/eventN) and forwards key presses to the TV UI as the
// JSON-RPC event input.1.key {key, code}, with the key names of the browser
// keyboard mapping (stb/ui/README.md).
//
// Configuration (plugins.input.*):
//   devices[i]   device files to read (none: the plugin idles). A FIFO works too
//                (tests): it is opened read-write so that writers may come and go.
// Presses (value 1) are forwarded; auto-repeat (value 2) only for arrows.

#include <boxoffice/base/Error.h>
#include <boxoffice/host/Plugin.h>

#include <Poco/JSON/Object.h>

#include <linux/input.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace boxoffice::plugins::input {

namespace {

const std::map<unsigned, const char*>& keyNames()
{
    static const std::map<unsigned, const char*> names = {
        {KEY_UP, "up"}, {KEY_DOWN, "down"}, {KEY_LEFT, "left"}, {KEY_RIGHT, "right"},
        {KEY_OK, "ok"}, {KEY_ENTER, "ok"}, {KEY_SELECT, "ok"}, {KEY_KPENTER, "ok"},
        {KEY_BACK, "back"}, {KEY_EXIT, "back"}, {KEY_BACKSPACE, "back"}, {KEY_ESC, "back"},
        {KEY_RED, "red"}, {KEY_F1, "red"}, {KEY_GREEN, "green"}, {KEY_F2, "green"},
        {KEY_YELLOW, "yellow"}, {KEY_F3, "yellow"}, {KEY_BLUE, "blue"}, {KEY_F4, "blue"},
        {KEY_0, "0"}, {KEY_1, "1"}, {KEY_2, "2"}, {KEY_3, "3"}, {KEY_4, "4"},
        {KEY_5, "5"}, {KEY_6, "6"}, {KEY_7, "7"}, {KEY_8, "8"}, {KEY_9, "9"},
        {KEY_NUMERIC_0, "0"}, {KEY_NUMERIC_1, "1"}, {KEY_NUMERIC_2, "2"}, {KEY_NUMERIC_3, "3"},
        {KEY_NUMERIC_4, "4"}, {KEY_NUMERIC_5, "5"}, {KEY_NUMERIC_6, "6"}, {KEY_NUMERIC_7, "7"},
        {KEY_NUMERIC_8, "8"}, {KEY_NUMERIC_9, "9"},
    };
    return names;
}

bool repeats(unsigned code) { return code == KEY_UP || code == KEY_DOWN || code == KEY_LEFT || code == KEY_RIGHT; }

} // namespace

class InputPlugin : public host::Plugin {
public:
    std::string initialize(host::PluginContext& context) override
    {
        try {
            context_ = &context;
            context.addEvent("input.1.key", "read");
            std::vector<std::string> paths;
            for (int i = 0; context.config().has("devices[" + std::to_string(i) + "]"); ++i)
                paths.push_back(context.config().getString("devices[" + std::to_string(i) + "]"));
            for (const auto& path : paths) open(path);
            if (::pipe2(wake_.data(), O_CLOEXEC) != 0) throw Error(ErrorCode::Io, std::string("pipe: ") + std::strerror(errno));
            reader_ = std::thread([this] { run(); });
            context.logger().information("reading keys from %z device(s)", devices_.size());
            return {};
        } catch (const std::exception& e) {
            closeAll();
            return std::string("input: ") + e.what();
        }
    }

    void deinitialize() override
    {
        if (reader_.joinable()) {
            const char stop = 's';
            [[maybe_unused]] auto n = ::write(wake_[1], &stop, 1);
            reader_.join();
        }
        closeAll();
    }

private:
    struct Device {
        std::string path;
        int fd;
    };

    void open(const std::string& path)
    {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
            throw Error(ErrorCode::NotFound, "cannot open input device " + path + ": " + std::strerror(errno));
        const int mode = S_ISFIFO(st.st_mode) ? O_RDWR : O_RDONLY;
        const int fd = ::open(path.c_str(), mode | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) throw Error(ErrorCode::Io, "cannot open input device " + path + ": " + std::strerror(errno));
        devices_.push_back({path, fd});
    }

    void closeAll()
    {
        for (auto& d : devices_) ::close(d.fd);
        devices_.clear();
        for (int& fd : wake_) {
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
    }

    void run()
    {
        std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
        for (const auto& d : devices_) fds.push_back({d.fd, POLLIN, 0});
        while (true) {
            if (::poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) continue;
                context_->logger().error("input: poll: %s", std::string(std::strerror(errno)));
                return;
            }
            if (fds[0].revents) return;
            for (std::size_t i = 1; i < fds.size(); ++i) {
                if (fds[i].revents & POLLIN) drain(devices_[i - 1]);
                if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
                    // Unplugged receiver: stop watching it rather than spin.
                    context_->logger().warning("input: %s went away", devices_[i - 1].path);
                    fds[i].fd = -1;
                }
            }
        }
    }

    // Reads whole input_event records; a partial tail waits for the rest.
    void drain(Device& device)
    {
        std::array<char, 64 * sizeof(input_event)> chunk{};
        while (true) {
            const auto n = ::read(device.fd, chunk.data(), chunk.size());
            if (n <= 0) return;
            pending_[device.fd].append(chunk.data(), static_cast<std::size_t>(n));
            auto& buffer = pending_[device.fd];
            std::size_t used = 0;
            for (; buffer.size() - used >= sizeof(input_event); used += sizeof(input_event)) {
                input_event ev{};
                std::memcpy(&ev, buffer.data() + used, sizeof ev);
                handle(ev);
            }
            buffer.erase(0, used);
        }
    }

    void handle(const input_event& ev)
    {
        if (ev.type != EV_KEY) return;
        if (ev.value != 1 && !(ev.value == 2 && repeats(ev.code))) return;
        const auto found = keyNames().find(ev.code);
        if (found == keyNames().end()) return;
        Poco::JSON::Object::Ptr params = new Poco::JSON::Object;
        params->set("key", std::string(found->second));
        params->set("code", static_cast<int>(ev.code));
        try {
            context_->emit("input.1.key", params);
        } catch (const std::exception& e) {
            context_->logger().warning("input: key not sent: %s", std::string(e.what()));
        }
    }

    host::PluginContext* context_ = nullptr;
    std::vector<Device> devices_;
    std::map<int, std::string> pending_;
    std::array<int, 2> wake_{-1, -1};
    std::thread reader_;
};

} // namespace boxoffice::plugins::input

namespace {
const char* const kNeeds[] = {nullptr};
const char* const kProvides[] = {nullptr};
} // namespace

BOXOFFICE_PLUGIN(boxoffice::plugins::input::InputPlugin,
                 (BoxOfficePluginManifest{"input", "1.0.0", BOXOFFICE_HOST_API_RANGE_MIN, BOXOFFICE_HOST_API_RANGE_MAX,
                                          kNeeds, kProvides,
                                          "Remote-control keys from Linux input devices (IR receiver) to the TV UI"}))
