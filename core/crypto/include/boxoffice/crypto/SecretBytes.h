#pragma once
// A byte buffer for key material: wiped when destroyed or overwritten, never
// resized after construction (so no stale copies are left behind by reallocation).

#include <boxoffice/base/Bytes.h>

#include <cstddef>

namespace boxoffice::crypto {

class SecretBytes {
public:
    SecretBytes() = default;
    explicit SecretBytes(std::size_t size);   // zero-filled
    explicit SecretBytes(ByteView bytes);
    SecretBytes(const SecretBytes& other);
    SecretBytes(SecretBytes&& other) noexcept;
    SecretBytes& operator=(const SecretBytes& other);
    SecretBytes& operator=(SecretBytes&& other) noexcept;
    ~SecretBytes();

    std::size_t size() const noexcept { return bytes_.size(); }
    bool empty() const noexcept { return bytes_.empty(); }
    const std::uint8_t* data() const noexcept { return bytes_.data(); }
    std::uint8_t* data() noexcept { return bytes_.data(); }
    ByteView view() const noexcept { return bytes_; }
    MutableByteView mutableView() noexcept { return bytes_; }
    operator ByteView() const noexcept { return bytes_; }

    // Wipes and empties.
    void clear() noexcept;

private:
    Bytes bytes_;
};

} // namespace boxoffice::crypto
