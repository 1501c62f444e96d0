#pragma once
// Counts the calls in flight per owner of a handler (a plugin), so that removing an
// owner's handlers can wait for the calls that already started: a plugin must not be
// torn down under a running handler. Used by the JSON-RPC dispatcher and the server's
// HTTP router.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace boxoffice {

class OwnerGates {
public:
    struct Gate {
        std::mutex mutex;
        std::condition_variable idle;
        int inFlight = 0;
    };

    // One call in flight, from construction to destruction.
    class Entry {
    public:
        explicit Entry(std::shared_ptr<Gate> gate) : gate_(std::move(gate))
        {
            std::lock_guard lock(gate_->mutex);
            ++gate_->inFlight;
        }
        ~Entry()
        {
            std::lock_guard lock(gate_->mutex);
            if (--gate_->inFlight == 0) gate_->idle.notify_all();
        }
        Entry(const Entry&) = delete;
        Entry& operator=(const Entry&) = delete;

    private:
        std::shared_ptr<Gate> gate_;
    };

    // The owner's gate (made on first use). Enter it (Entry) while holding the lock under
    // which the handler was found: a removal then either sees the call or it never starts.
    std::shared_ptr<Gate> gateFor(const std::string& owner)
    {
        std::lock_guard lock(mutex_);
        auto& gate = gates_[owner];
        if (!gate) gate = std::make_shared<Gate>();
        return gate;
    }

    // After the owner's handlers were removed: waits until its calls in flight are done.
    void waitIdle(const std::string& owner)
    {
        const auto gate = gateFor(owner);
        std::unique_lock lock(gate->mutex);
        gate->idle.wait(lock, [&] { return gate->inFlight == 0; });
    }

private:
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Gate>> gates_;
};

} // namespace boxoffice
