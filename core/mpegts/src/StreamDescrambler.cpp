#include <boxoffice/mpegts/StreamDescrambler.h>

#include <boxoffice/base/Error.h>
#include <boxoffice/mpegts/Packet.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace boxoffice::mpegts {

namespace {
std::size_t slotOf(Scrambling parity) { return parity == Scrambling::Even ? 0 : 1; }
constexpr std::size_t maxNotices = 64;
} // namespace

StreamDescrambler::StreamDescrambler(const StreamDescramblerConfig& config)
    : config_(config), descrambler_(std::make_unique<Descrambler>(config.algorithm)), pidKeys_(nullPid + 1) {}

StreamDescrambler::~StreamDescrambler() = default;

void StreamDescrambler::setFixedKey(Scrambling parity, ByteView controlWord) {
    if (!isScrambled(parity))
        throw Error(ErrorCode::InvalidArgument, "a control word belongs to the even or the odd parity");
    // In ECM mode the ECM last applied no longer describes the keys: its next repeat is
    // offered again (holdsEcm) and puts its words back.
    lastEcm_.clear();
    if (controlWord.empty()) {
        descrambler_->clearKey(parity);
        return;
    }
    if (config_.algorithm == Algorithm::DvbCsa2 && config_.reduceCsa2Entropy && controlWord.size() == 8) {
        crypto::SecretBytes reduced(controlWord);
        reduceCsa2Entropy(reduced.mutableView());
        descrambler_->setKey(parity, reduced);
        return;
    }
    descrambler_->setKey(parity, controlWord);
}

void StreamDescrambler::setKeyService(KeyService* service) {
    keyService_ = service;
    if (service && !tracker_)
        tracker_ = std::make_unique<CaTracker>(config_.caSystemId, config_.programNumber,
                                               static_cast<CaTracker::Listener&>(*this));
    if (!service) {
        // Fixed-key mode: no PMT to follow, every PID is ours again.
        tracker_.reset();
        forgetCa();
    }
}

void StreamDescrambler::forgetCa() {
    lastCa_.reset();
    foreign_.reset();
}

std::optional<CaInfo> StreamDescrambler::caInfo() const {
    return tracker_ ? tracker_->current() : std::nullopt;
}

std::vector<DescramblerNotice> StreamDescrambler::takeNotices() {
    std::vector<DescramblerNotice> n;
    n.swap(notices_);
    return n;
}

void StreamDescrambler::notice(DescramblerNotice::Kind kind, std::string text) {
    if (notices_.size() < maxNotices)
        notices_.push_back({kind, std::move(text)});
}

StreamDescrambler::Output StreamDescrambler::process(MutableByteView packets) {
    if (packets.size() % packetSize != 0)
        throw Error(ErrorCode::InvalidArgument, "process() takes whole 188-byte packets");
    input_ = packets.data();
    inputSize_ = packets.size();
    position_ = 0;
    tailMode_ = false;
    out_ = Output{};
    // Already holding: everything goes through the held queue, nothing in place.
    if (holding_)
        enterTailMode();
    try {
        for (position_ = 0; position_ < inputSize_; position_ += packetSize) {
            prefetchPacketAhead(input_ + position_);
            handle(input_ + position_);
        }
        descrambler_->flush();
        tryRelease();
    } catch (...) {
        // Nothing may stay queued that points into the caller's buffer, and held
        // packets may be half-settled: start clean (keys of a fixed-key engine stay).
        descrambler_->discardPending();
        reset();
        input_ = nullptr;
        throw;
    }
    if (holding_ && heldPackets() > config_.maxHeldPackets) {
        notice(DescramblerNotice::Kind::HoldOverflow,
               "no key after " + std::to_string(heldPackets()) + " held packets; passing them on scrambled");
        releaseAll();
    }
    input_ = nullptr;
    return std::move(out_);
}

void StreamDescrambler::enterTailMode() {
    if (tailMode_)
        return;
    tailMode_ = true;
    out_.inPlace = position_;
    // Bound of what this call can append: all held bytes plus the rest of the
    // input. Reserving it keeps queued packet pointers into the tail valid.
    out_.tail.reserve(held_.size() + inputSize_ - position_);
}

void StreamDescrambler::handle(std::uint8_t* packet) {
    const PacketView view(packet);
    if (!view.hasSync()) {
        ++stats_.errors;
        emit(packet);
        return;
    }
    const std::uint16_t pid = view.pid();
    if (guide_ && GuideCollector::wants(pid))
        guide_->push(packet);
    if (tracker_ && tracker_->wants(pid))
        tracker_->push(packet);  // may install keys and release held packets
    if (!holding_ && keyService_ && isScrambled(view.scrambling()) && !foreign(pid) &&
        needsKey(pid, view.scrambling())) {
        holding_ = true;
        if (!lateReported_) {
            lateReported_ = true;
            notice(DescramblerNotice::Kind::KeyLate, "key late for PID " + std::to_string(pid) + " (" +
                                                         (view.scrambling() == Scrambling::Even ? "even" : "odd") +
                                                         "): holding packets");
        }
    }
    if (holding_) {
        enterTailMode();
        held_.insert(held_.end(), packet, packet + packetSize);
        settled_.push_back(0);
        ++stats_.held;
        return;
    }
    emit(packet);
}

void StreamDescrambler::emit(std::uint8_t* packet) {
    std::uint8_t* at = packet;
    if (tailMode_) {
        out_.tail.insert(out_.tail.end(), packet, packet + packetSize);
        at = out_.tail.data() + out_.tail.size() - packetSize;
    } else {
        out_.inPlace = position_ + packetSize;
    }
    const PacketView view(at);
    if (!view.hasSync())
        return;
    const Scrambling sc = view.scrambling();
    if (isScrambled(sc) && foreign(view.pid())) {
        ++stats_.withoutKey;
        return;
    }
    const auto outcome = descrambler_->add(at);
    if (outcome == Descrambler::Outcome::Descrambled)
        pidKeys_[view.pid()] = {sc, keyPeriod_[slotOf(sc)]};
    count(outcome);
}

void StreamDescrambler::count(Descrambler::Outcome outcome) {
    switch (outcome) {
    case Descrambler::Outcome::Clear: ++stats_.clear; break;
    case Descrambler::Outcome::Descrambled: ++stats_.descrambled; break;
    case Descrambler::Outcome::NoKey: ++stats_.withoutKey; break;
    case Descrambler::Outcome::Invalid: ++stats_.errors; break;
    }
}

bool StreamDescrambler::needsKey(std::uint16_t pid, Scrambling parity) const {
    if (!descrambler_->hasKey(parity))
        return true;
    const PidKey& last = pidKeys_[pid];
    // A parity flip on this PID to a key not newer than the one it leaves: the ECM
    // with the next control word has not arrived.
    return last.parity != Scrambling::Clear && last.parity != parity && keyPeriod_[slotOf(parity)] <= last.period;
}

void StreamDescrambler::settleHeld() {
    // Descrambles every held packet whose key is known, keeping each PID in order
    // (a PID stays blocked behind its first packet that still lacks a key). Done
    // before each key change too, so no held packet misses the key it needs.
    std::set<std::uint16_t> blocked;
    const std::size_t packets = held_.size() / packetSize;
    for (std::size_t i = 0; i < packets; ++i) {
        if (settled_[i])
            continue;
        std::uint8_t* p = held_.data() + i * packetSize;
        const PacketView view(p);
        const std::uint16_t pid = view.pid();
        if (blocked.count(pid))
            continue;
        const Scrambling sc = view.scrambling();
        if (isScrambled(sc) && foreign(pid)) {
            ++stats_.withoutKey;
            settled_[i] = 1;
            continue;
        }
        if (isScrambled(sc) && needsKey(pid, sc)) {
            blocked.insert(pid);
            continue;
        }
        const auto outcome = descrambler_->add(p);
        if (outcome == Descrambler::Outcome::Descrambled)
            pidKeys_[pid] = {sc, keyPeriod_[slotOf(sc)]};
        count(outcome);
        settled_[i] = 1;
    }
    descrambler_->flush();
}

void StreamDescrambler::tryRelease() {
    if (!holding_)
        return;
    settleHeld();
    std::size_t ready = 0;
    while (ready < settled_.size() && settled_[ready])
        ++ready;
    if (ready == 0)
        return;
    const auto bytes = static_cast<std::ptrdiff_t>(ready * packetSize);
    if (input_) {
        enterTailMode();
        out_.tail.insert(out_.tail.end(), held_.begin(), held_.begin() + bytes);
    } else {
        drained_.insert(drained_.end(), held_.begin(), held_.begin() + bytes);
    }
    held_.erase(held_.begin(), held_.begin() + bytes);
    settled_.erase(settled_.begin(), settled_.begin() + static_cast<std::ptrdiff_t>(ready));
    if (held_.empty()) {
        holding_ = false;
        lateReported_ = false;
        notice(DescramblerNotice::Kind::KeyArrived, "key arrived: released held packets");
    }
}

void StreamDescrambler::releaseAll() {
    for (std::size_t at = 0; at < held_.size(); at += packetSize) {
        const PacketView view(held_.data() + at);
        if (settled_[at / packetSize])
            continue;
        if (isScrambled(view.scrambling()))
            ++stats_.withoutKey;
        else if (view.scrambling() == Scrambling::Clear)
            ++stats_.clear;
        else
            ++stats_.errors;
    }
    if (input_) {
        enterTailMode();
        out_.tail.insert(out_.tail.end(), held_.begin(), held_.end());
    }
    held_.clear();
    settled_.clear();
    holding_ = false;
    lateReported_ = false;
}

Bytes StreamDescrambler::drain() {
    Bytes out = std::move(drained_);
    drained_.clear();
    out.insert(out.end(), held_.begin(), held_.end());
    releaseAll();
    return out;
}

void StreamDescrambler::reset() {
    held_.clear();
    settled_.clear();
    drained_.clear();
    holding_ = false;
    lateReported_ = false;
    if (keyService_) {
        clearKeys();
        if (tracker_)
            tracker_->reset();
        forgetCa();  // the PMT is read again
    }
}

void StreamDescrambler::clearKeys() {
    descrambler_->clearKeys();
    keyPeriod_ = {-1, -1};
    pidKeys_.assign(pidKeys_.size(), PidKey{});
    lastEcm_.clear();
    rejectedEcm_.clear();
}

void StreamDescrambler::useAlgorithm(Algorithm algorithm) {
    if (descrambler_->algorithm() == algorithm)
        return;
    descrambler_->flush();
    descrambler_ = std::make_unique<Descrambler>(algorithm);
    keyPeriod_ = {-1, -1};
    lastEcm_.clear();
}

void StreamDescrambler::onCaInfo(const std::optional<CaInfo>& info) {
    const auto& before = lastCa_;
    const bool changed = !info || !before || before->ecmPid != info->ecmPid || before->pmtPid != info->pmtPid ||
                         before->programNumber != info->programNumber;
    if (changed) {
        // Packets held for a key of the old ECM stream: what the keys in hand open is
        // descrambled, the rest passes on as it is. The new ECMs' words are not theirs.
        // Not at the first PMT (tuning in): what was held waits for the first ECM.
        if (holding_ && before) {
            settleHeld();
            releaseAll();
        }
        descrambler_->flush();
        clearKeys();
        notice(DescramblerNotice::Kind::CaChanged,
               info ? "following program " + std::to_string(info->programNumber) + ", ECM PID " +
                          std::to_string(info->ecmPid)
                    : std::string("no CA descriptor of ours in the PMT"));
    }
    if (info && info->algorithm)
        useAlgorithm(*info->algorithm);
    foreign_.reset();
    if (info) {
        foreign_.set();
        for (const std::uint16_t pid : info->esPids)
            foreign_.reset(pid & 0x1FFF);
    }
    lastCa_ = info;
}

bool StreamDescrambler::holdsEcm(ByteView section) const {
    return keyService_ && !lastEcm_.empty() && std::ranges::equal(section, lastEcm_);
}

void StreamDescrambler::onEcmSection(ByteView section) {
    if (!keyService_ || holdsEcm(section) || std::ranges::equal(section, rejectedEcm_))
        return;  // a repetition of the ECM already applied, or of one refused for good
    const auto reject = [&](const std::string& why) {
        ++stats_.errors;
        notice(DescramblerNotice::Kind::EcmRejected, "ECM rejected: " + why);
        rejectedEcm_.assign(section.begin(), section.end());
    };
    EcmHeader header;
    try {
        header = peekEcm(section);
    } catch (const Error& e) {
        return reject(e.what());
    }
    // Another service's ECM (same event, so the key opens it) would install its words here.
    if (lastCa_ && header.serviceId != lastCa_->programNumber)
        return reject("it is for service " + std::to_string(header.serviceId) + ", not program " +
                      std::to_string(lastCa_->programNumber));
    std::string reason;
    auto words = keyService_->onEcm(section, reason);
    if (!words) {
        notice(DescramblerNotice::Kind::EcmRejected, "no control words for ECM: " + reason);
        return;
    }
    const std::size_t size = controlWordSize(header.algorithm);
    if (words->even.size() != size || words->odd.size() != size) {
        // A key service handing over words the algorithm cannot take: this ECM is
        // unusable (neither word is installed), the stream goes on.
        ++stats_.errors;
        notice(DescramblerNotice::Kind::EcmRejected, "ECM rejected: control words of the wrong size for " +
                                                         std::string(toString(header.algorithm)));
        return;
    }
    // Held packets that the current keys can still open go first.
    if (holding_)
        settleHeld();
    useAlgorithm(header.algorithm);
    const std::int64_t period = words->cryptoPeriod;
    const bool odd = (words->cryptoPeriod & 1) != 0;
    descrambler_->setKey(Scrambling::Even, words->even);
    descrambler_->setKey(Scrambling::Odd, words->odd);
    keyPeriod_[0] = odd ? period + 1 : period;
    keyPeriod_[1] = odd ? period : period + 1;
    lastEcm_.assign(section.begin(), section.end());
    tryRelease();
}

void StreamDescrambler::onPsiError(std::string_view message) {
    ++stats_.errors;
    notice(DescramblerNotice::Kind::PsiError, std::string(message));
}

} // namespace boxoffice::mpegts
