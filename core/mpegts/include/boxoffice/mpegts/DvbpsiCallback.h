#pragma once
// libdvbpsi calls our table handlers from C, where nothing may unwind: it would
// free the section it handed over a second time (ASan saw it). Every handler
// runs its body through fromDvbpsi, which hands what it throws to `report` as
// text instead. For the STB's PSI readers and the headend alike.

#include <exception>

namespace boxoffice::mpegts {

template <class Handler, class Report>
void fromDvbpsi(Handler&& handler, Report&& report) noexcept {
    try {
        handler();
        return;
    } catch (const std::exception& e) {
        try {
            report(e.what());
        } catch (...) {
        }
    } catch (...) {
        try {
            report("unknown exception");
        } catch (...) {
        }
    }
}

} // namespace boxoffice::mpegts
