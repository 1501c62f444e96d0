// boxoffice-demo: the whole PPV story on one machine, with real processes over
// loopback (README's first command runs it through .ci/demo):
//
//   operator server (boxoffice-server: https + settlement, SQLite)
//   headend        (boxoffice-headend: a generated test video, CISSA-scrambled, ECMs under the event key)
//   STB            (boxofficed: bluetooth, billing, descrambler, sync, ppv; the TV UI)
//   fake BlueZ     (a private dbus-daemon with the test org.bluez: no radio on build machines)
//   phone          (the reference phone library, over the fake radio and its own HTTPS line)
//
// It registers the phone's key with the operator, registers the STB with the device-code flow
// (the TV shows a code, the phone presents it over its own line), pairs the phone, shows that the
// event does not play without a ticket, buys it with the purchase PIN, approves it on the
// phone, plays it, and prints the billing history and the phone's receipt. Artefacts in
// --out: before.png (what the screen shows without a ticket), after.png (a frame of the
// descrambled video), tv.png (the TV UI, headless Chromium). Exit 0 only if all happened.
//
//   boxoffice-demo [--out DIR]
//
// The processes come from the shared stack (tests/e2e/stack/Stack.h), which
// tests/bench/e2e uses too; this file is the story told over it.

#include "Stack.h"  // tests/e2e/stack: the processes, the TV's JSON-RPC, the phone

#include <boxoffice/base/Error.h>

#include <iostream>

using namespace boxoffice;
using namespace boxoffice::e2e;
using namespace std::chrono_literals;
using Poco::JSON::Object;
namespace fs = std::filesystem;

namespace {

int stepNumber = 0;
void step(const std::string& text) { std::cout << "\n[" << ++stepNumber << "] " << text << std::endl; }
void say(const std::string& text) { std::cout << "    " << text << std::endl; }

int demo(const fs::path& out)
{
    fs::create_directories(out);
    Stack stack("demo", say);

    step("Operator keys: root, ticket issuer, server, STBs, a phone (boxoffice-keytool dev)");
    say("key set in " + stack.keys().string());

    step("Headend: a 20 s test video (ffmpeg), scrambled with DVB-CISSA, ECMs under the event key of 'The Final'");
    stack.generateVideo(20);
    Event theFinal{"ev-final", "The Final", 450, 7, {}};
    theFinal.stream = stack.scramble(theFinal, "scrambled.ts");
    const auto& scrambled = theFinal.stream;
    say("scrambled stream " + scrambled.string() + " (" + std::to_string(fs::file_size(scrambled) / 1024) + " KiB)");

    step("Operator server (boxoffice-server: https + settlement on SQLite), catalog and accounts");
    stack.startServer();
    stack.createAccounts(2000);
    stack.putEvent(theFinal);
    say("account acct-alice with 20.00 EUR prepaid; event ev-final 'The Final' at 4.50 EUR");

    step("The phone's P-256 key registered for Alice's account (operator)");
    say("phone " + stack.registerPhoneKey() + " registered");

    step("Fake BlueZ on a private dbus-daemon (no radio here), then boxofficed with its plugins and the TV UI");
    auto& stb = stack.startStb({theFinal}, {});
    auto& tv = stack.tv();
    stack.checkPlugins();
    say("TV UI at http://127.0.0.1:" + std::to_string(stb.port) + "/");

    step("Registering the STB: the TV shows a short code, the phone presents it over its own line");
    stack.registerStb();

    step("Pairing the phone: numeric comparison at the link layer, then the application code, both confirmed on the TV");
    stack.pairPhone();
    // The phone: shows each settlement request, approves it with its key over its own HTTPS line.
    stack.approveOnPhone();

    step("The guide: catalog from the server (ppv.1.refresh, ppv.1.catalog)");
    tv.call("ppv.1.refresh");
    const auto catalog = tv.object("ppv.1.catalog")->getArray("events");
    for (std::size_t i = 0; i < catalog->size(); ++i) {
        const auto e = catalog->getObject(static_cast<unsigned>(i));
        say(e->getValue<std::string>("eventId") + "  '" + e->getValue<std::string>("title") + "'  " +
            money(e->getValue<std::int64_t>("price"), e->getValue<std::string>("currency")) + "  " + e->getValue<std::string>("state"));
    }

    step("Before buying: the event does not play (no ticket: the descrambler holds every scrambled packet)");
    const auto play = params({{"uri", "file://" + scrambled.string()}});
    const auto refused = tv.refusal("descrambler.1.play", play);
    if (refused.empty()) throw std::runtime_error("the scrambled event played without a ticket");
    say("descrambler.1.play refused: " + refused);
    const auto noPicture = tv.refusal("descrambler.1.snapshot", params({{"name", "before"}}));
    say("descrambler.1.snapshot: " + noPicture);
    // What the screen shows: no decoded picture, i.e. black, at the stream's size.
    run("gst-launch-1.0 -q videotestsrc pattern=black num-buffers=1 ! video/x-raw,width=320,height=240 ! pngenc ! filesink location=" +
            (out / "before.png").string(),
        "gst-launch-1.0 (before.png)");
    say("saved " + (out / "before.png").string() + " (no picture)");

    step("Buying 'The Final' with the remote: purchase PIN, order over the STB's line, settlement on the phone");
    const auto order = tv.object("ppv.1.buy", params({{"eventId", "ev-final"}, {"pin", "1234"}}));
    const auto orderId = order->getValue<std::string>("orderId");
    say("order " + orderId + ": " + order->getValue<std::string>("state") + ", transaction number " +
        order->getValue<std::string>("transactionNumber") + " shown on the TV");
    Object::Ptr final;
    for (auto e = tv.waitFor("ppv.1.orderChanged", 60s); e; e = tv.waitFor("ppv.1.orderChanged", 60s)) {
        if (e->getValue<std::string>("orderId") != orderId) continue;
        say("order " + e->getValue<std::string>("state"));
        const auto state = e->getValue<std::string>("state");
        if (state != "ordering" && state != "awaiting-phone" && state != "awaiting-otp") {
            final = e;
            break;
        }
    }
    for (const auto& line : stack.phoneLog()) say("phone: " + line);
    if (!final || final->getValue<std::string>("state") != "approved")
        throw std::runtime_error("the purchase did not complete: " + (final ? json(final) : std::string("no answer")));
    say("ticket " + final->getValue<std::string>("ticketId") + " in the wallet");

    step("Watching: ppv.1.watch, then descrambler.1.play with control words from the ticket's event key");
    const auto watch = tv.object("ppv.1.watch", params({{"eventId", "ev-final"}}));
    const auto started = tv.object("descrambler.1.play", watch->getObject("play"));
    say("playback " + started->getValue<std::string>("state"));
    // Let it run (the file plays faster than real time into a fakesink) so the frame
    // is from the middle of a GOP sequence, not the first decoded one.
    boxoffice::testing::eventually([&] {
        const auto s = tv.object("descrambler.1.status");
        return s->getValue<std::string>("state") == "ended" || s->getValue<std::uint64_t>("descrambled") > 4000;
    }, 30s);
    Object::Ptr snapshot;
    boxoffice::testing::eventually([&] {
        try {
            snapshot = tv.object("descrambler.1.snapshot", params({{"name", "after"}}));
            return true;
        } catch (const Error&) {
            return false;
        }
    }, 20s);
    if (!snapshot) throw std::runtime_error("no decoded frame after the purchase");
    fs::copy_file(snapshot->getValue<std::string>("path"), out / "after.png", fs::copy_options::overwrite_existing);
    say("saved " + (out / "after.png").string() + " (" + json(snapshot->get("width")) + "x" + json(snapshot->get("height")) +
        ", a frame of the descrambled video)");
    const auto status = tv.object("descrambler.1.status");
    say("descrambler: " + json(status));

    step("The TV screen (headless Chromium on the STB's web UI)");
    const auto tvPng = out / "tv.png";
    const std::string chromium =
        "chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,720 --virtual-time-budget=5000 "
        "--screenshot=" + tvPng.string() + " 'http://127.0.0.1:" + std::to_string(stb.port) + "/?token=" + stack.token() + "' >/dev/null 2>&1";
    if (std::system(chromium.c_str()) == 0 && fs::exists(tvPng))
        say("saved " + tvPng.string());
    else
        throw std::runtime_error("chromium could not take the TV screenshot");

    step("Billing history on the STB (signed, hash-chained records) and the phone's receipt");
    const auto history = tv.call("billing.1.history");
    say(json(history, true));
    boxoffice::testing::eventually([&] { return stack.receipt().has_value(); }, 10s);
    const auto receipt = stack.receipt();
    if (!receipt) throw std::runtime_error("the phone has no receipt");
    say("receipt " + receipt->receiptId + ": order " + receipt->orderId + ", transaction " + receipt->transactionNumber +
        ", ticket " + receipt->ticketId + ", " + money(receipt->amount, receipt->currency) + " from " + receipt->accountId +
        " to " + receipt->payee);
    const auto balance = stack.operatorLine().get("/v1/operator/accounts/acct-alice");
    say("server: acct-alice " + balance.raw);

    step("Stopping");
    tv.call("descrambler.1.stop");
    const int exit = stb.stop();
    if (exit != 0) throw std::runtime_error("boxofficed exited with " + std::to_string(exit) + ":\n" + stb.output());
    std::cout << "\ndemo: done — artefacts in " << out.string() << std::endl;
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    fs::path out = "demo-output";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--out" && i + 1 < argc)
            out = argv[++i];
        else {
            std::cerr << "usage: boxoffice-demo [--out DIR]\n";
            return 2;
        }
    }
    try {
        return demo(fs::absolute(out));
    } catch (const std::exception& e) {
        std::cerr << "\ndemo: FAILED: " << e.what() << std::endl;
        return 1;
    }
}
