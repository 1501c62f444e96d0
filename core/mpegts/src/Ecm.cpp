#include <boxoffice/mpegts/Ecm.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/Aead.h>
#include <boxoffice/crypto/Random.h>

#include <boxoffice/mpegts/Section.h>

#include <cstring>

namespace boxoffice::mpegts {

namespace {

// Section payload: version, algorithm, service_id, event_id, crypto_period (10
// bytes, authenticated as associated data) | nonce (12) | sealed control words
// (2 x cw + 16-byte tag). The section header (8) and CRC_32 (4) wrap it.
constexpr std::size_t sectionHeader = 8;
constexpr std::size_t clearFields = 10;

void put16(Bytes& b, std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
    put16(b, static_cast<std::uint16_t>(v >> 16));
    put16(b, static_cast<std::uint16_t>(v));
}
std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t get32(const std::uint8_t* p) { return (std::uint32_t{get16(p)} << 16) | get16(p + 2); }

Algorithm algorithmFromMode(std::uint8_t mode) {
    for (auto a : {Algorithm::DvbCissa, Algorithm::DvbCsa2, Algorithm::AtisIdsa})
        if (scramblingMode(a) == mode)
            return a;
    throw Error(ErrorCode::Malformed, "ECM names an unknown scrambling mode");
}

std::size_t expectedSize(Algorithm a) {
    return sectionHeader + clearFields + crypto::gcmNonceSize + 2 * controlWordSize(a) + crypto::gcmTagSize + 4;
}

} // namespace

Bytes sealEcm(const EcmHeader& h, ByteView current, ByteView next, ByteView eventKey) {
    const std::size_t cw = controlWordSize(h.algorithm);
    if (current.size() != cw || next.size() != cw)
        throw Error(ErrorCode::InvalidArgument, "ECM control words have the wrong size for " +
                                                    std::string(toString(h.algorithm)));
    const bool oddPeriod = (h.cryptoPeriod & 1) != 0;
    Bytes payload;
    payload.push_back(ecmFormatVersion);
    payload.push_back(scramblingMode(h.algorithm));
    put16(payload, h.serviceId);
    put16(payload, h.eventId);
    put32(payload, h.cryptoPeriod);

    // Plaintext: even slot then odd slot.
    crypto::SecretBytes plain(2 * cw);
    std::memcpy(plain.data() + (oddPeriod ? cw : 0), current.data(), cw);
    std::memcpy(plain.data() + (oddPeriod ? 0 : cw), next.data(), cw);
    const Bytes nonce = crypto::randomBytes(crypto::gcmNonceSize);
    const Bytes sealed = crypto::AesGcm(eventKey).seal(nonce, plain, ByteView(payload.data(), clearFields));
    payload.insert(payload.end(), nonce.begin(), nonce.end());
    payload.insert(payload.end(), sealed.begin(), sealed.end());

    SectionHeader header;
    header.tableId = oddPeriod ? ecmTableOdd : ecmTableEven;
    header.extension = h.eventId;
    header.version = static_cast<std::uint8_t>(h.cryptoPeriod & 0x1F);
    return buildSection(header, payload);
}

EcmHeader peekEcm(ByteView s) {
    if (s.size() < sectionHeader + clearFields)
        throw Error(ErrorCode::Malformed, "ECM section too short");
    if (s[0] != ecmTableEven && s[0] != ecmTableOdd)
        throw Error(ErrorCode::Malformed, "not an ECM table_id");
    const std::size_t length = get16(&s[1]) & 0x0FFF;
    if ((s[1] & 0x80) == 0 || length + 3 != s.size())
        throw Error(ErrorCode::Malformed, "ECM section_length does not match");
    if (s[8] != ecmFormatVersion)
        throw Error(ErrorCode::UnsupportedVersion, "unsupported ECM format version");
    EcmHeader h;
    h.algorithm = algorithmFromMode(s[9]);
    h.serviceId = get16(&s[10]);
    h.eventId = get16(&s[12]);
    h.cryptoPeriod = get32(&s[14]);
    if (s.size() != expectedSize(h.algorithm))
        throw Error(ErrorCode::Malformed, "ECM has the wrong size for its algorithm");
    if ((s[0] == ecmTableOdd) != ((h.cryptoPeriod & 1) != 0))
        throw Error(ErrorCode::Malformed, "ECM table_id does not match its crypto-period parity");
    // The section header's copies of the authenticated fields must agree with them.
    if (get16(&s[3]) != h.eventId)
        throw Error(ErrorCode::Malformed, "ECM table_id_extension is not its event_id");
    if (((s[5] >> 1) & 0x1F) != (h.cryptoPeriod & 0x1F))
        throw Error(ErrorCode::Malformed, "ECM version_number is not its crypto-period modulo 32");
    return h;
}

ControlWords openEcm(ByteView s, ByteView eventKey) {
    const EcmHeader h = peekEcm(s);
    const std::size_t cw = controlWordSize(h.algorithm);
    const ByteView aad = s.subspan(sectionHeader, clearFields);
    const ByteView nonce = s.subspan(sectionHeader + clearFields, crypto::gcmNonceSize);
    const ByteView sealed = s.subspan(sectionHeader + clearFields + crypto::gcmNonceSize, 2 * cw + crypto::gcmTagSize);
    const crypto::SecretBytes plain = crypto::AesGcm(eventKey).open(nonce, sealed, aad);
    ControlWords words;
    words.cryptoPeriod = h.cryptoPeriod;
    words.even = crypto::SecretBytes(plain.view().first(cw));
    words.odd = crypto::SecretBytes(plain.view().subspan(cw, cw));
    return words;
}

} // namespace boxoffice::mpegts
