// GLib allocates its type system and slice allocator in a library constructor
// and never frees them (reported by LeakSanitizer at exit in every GStreamer
// test); nothing of ours is suppressed.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libglib-2.0.so\nleak:libgobject-2.0.so\nleak:libgstreamer-1.0.so\n";
}
