// A shared library without the plugin entry points.
extern "C" int not_a_plugin() { return 1; }
