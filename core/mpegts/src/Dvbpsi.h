#pragma once
// libdvbpsi's C headers, in the order they need, and the guard for its callbacks.

#include <stdbool.h>
#include <stdint.h>

#include <exception>

extern "C" {
#include <dvbpsi/dvbpsi.h>
#include <dvbpsi/psi.h>
#include <dvbpsi/descriptor.h>
#include <dvbpsi/demux.h>
#include <dvbpsi/pat.h>
#include <dvbpsi/pmt.h>
#include <dvbpsi/cat.h>
#include <dvbpsi/eit.h>
#include <dvbpsi/tot.h>
#include <dvbpsi/dr_09.h>
}

namespace boxoffice::mpegts::detail {

// libdvbpsi calls our table handlers from C: nothing may unwind through its frames
// (it would free the section it handed over a second time — ASan saw it). Runs
// `handler`; what it throws goes to `report` as text instead.
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

} // namespace boxoffice::mpegts::detail
