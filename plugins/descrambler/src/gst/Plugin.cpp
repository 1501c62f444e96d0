// The GStreamer plugin "boxoffice" (libgstboxoffice.so).

#include "TsDescrambler.h"

#ifndef PACKAGE
#define PACKAGE "boxoffice"
#endif

namespace {
gboolean pluginInit(GstPlugin* plugin) {
    return GST_ELEMENT_REGISTER(tsdescrambler, plugin);
}
} // namespace

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, boxoffice,
                  "BoxOffice pay-per-view: MPEG-TS descrambling (DVB-CISSA, DVB-CSA2, ATIS-IDSA)", pluginInit,
                  BOXOFFICE_VERSION, "unknown", "BoxOffice", "https://example.invalid/boxoffice")
