#include <boxoffice/trust/SealedApproval.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/crypto/SealedBox.h>
#include <boxoffice/wire/Reader.h>
#include <boxoffice/wire/Writer.h>

#include <algorithm>

namespace boxoffice::trust {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kMagic[4] = {'B', 'O', 'S', 'A'};
constexpr std::size_t kMaxSealedSize = 4096;   // an encoded Approval is a few hundred bytes

struct Parsed {
    SealedApprovalHeader header;
    std::size_t aadSize = 0;
    Bytes sealed;
};

Parsed parse(ByteView envelope)
{
    wire::Reader r("sealed_approval", envelope);
    const ByteView magic = r.fixed("magic", 4);
    if (!std::equal(magic.begin(), magic.end(), kMagic)) r.fail("magic", "not a sealed approval");
    const auto version = r.unsignedField("version", 0, 255, 1);
    if (version != kVersion)
        throw Error(ErrorCode::UnsupportedVersion, "sealed approval version " + std::to_string(version) + " is not supported");
    Parsed p;
    p.header.serverKeyId = r.id("server_key_id");
    p.header.transactionNumber = r.id("transaction_number");
    p.aadSize = r.offset();
    p.sealed = r.bytes("sealed", crypto::sealedBoxOverhead + 1, kMaxSealedSize);
    r.finish();
    return p;
}

} // namespace

Bytes sealApproval(const wire::Approval& approval, const wire::Certificate& serverCertificate)
{
    if (serverCertificate.agreementKey.size() != crypto::x25519KeySize)
        throw Error(ErrorCode::Unavailable, "server certificate " + serverCertificate.keyId +
                                                " has no X25519 agreement key to seal the approval to");
    wire::Writer envelope("sealed_approval");
    envelope.fixed(ByteView(kMagic, 4));
    envelope.u8(kVersion);
    envelope.id("server_key_id", serverCertificate.keyId);
    envelope.id("transaction_number", approval.transactionNumber);
    const Bytes aad = envelope.data();
    const auto recipient = crypto::X25519PublicKey::fromRaw(serverCertificate.agreementKey);
    envelope.bytes("sealed", crypto::sealTo(recipient, approval.encode(), aad), 1, kMaxSealedSize);
    return envelope.take();
}

SealedApprovalHeader peekSealedApproval(ByteView envelope) { return parse(envelope).header; }

wire::Approval openSealedApproval(ByteView envelope, const crypto::X25519PrivateKey& serverAgreementKey,
                                  const std::string& serverKeyId)
{
    const auto p = parse(envelope);
    if (p.header.serverKeyId != serverKeyId)
        throw Error(ErrorCode::WrongAudience, "the approval is sealed to server key " + p.header.serverKeyId);
    const auto content = crypto::openSealed(serverAgreementKey, p.sealed, envelope.first(p.aadSize));
    auto approval = wire::Approval::decode(content.view());
    if (approval.transactionNumber != p.header.transactionNumber)
        throw Error(ErrorCode::BadSignature, "sealed approval: the clear transaction number differs from the sealed one");
    return approval;
}

} // namespace boxoffice::trust
