#pragma once
// libdvbpsi's C headers, in the order they need, and the guard for its callbacks.

#include <stdbool.h>
#include <stdint.h>

#include <boxoffice/mpegts/DvbpsiCallback.h>

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
