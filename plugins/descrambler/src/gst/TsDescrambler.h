#pragma once
// GStreamer element "tsdescrambler": descrambles an MPEG-TS between tsparse and
// tsdemux, with fixed control words or from ECMs through a KeyService.

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_TS_DESCRAMBLER (gst_ts_descrambler_get_type())
G_DECLARE_FINAL_TYPE(GstTsDescrambler, gst_ts_descrambler, GST, TS_DESCRAMBLER, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE(tsdescrambler);

G_END_DECLS
