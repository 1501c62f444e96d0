#include <boxoffice/crypto/SecretBytes.h>

#include <boxoffice/crypto/ConstantTime.h>

namespace boxoffice::crypto {

SecretBytes::SecretBytes(std::size_t size) : bytes_(size, 0) {}

SecretBytes::SecretBytes(ByteView bytes) : bytes_(bytes.begin(), bytes.end()) {}

SecretBytes::SecretBytes(const SecretBytes& other) : bytes_(other.bytes_) {}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_))
{
    other.bytes_.clear();
}

SecretBytes& SecretBytes::operator=(const SecretBytes& other)
{
    if (this != &other) {
        clear();
        bytes_ = other.bytes_;
    }
    return *this;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept
{
    if (this != &other) {
        clear();
        bytes_ = std::move(other.bytes_);
        other.bytes_.clear();
    }
    return *this;
}

SecretBytes::~SecretBytes() { clear(); }

void SecretBytes::clear() noexcept
{
    wipe(bytes_);
    bytes_.clear();
    bytes_.shrink_to_fit();
}

} // namespace boxoffice::crypto
