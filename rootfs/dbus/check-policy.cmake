# Starts a throw-away dbus-daemon whose configuration includes the policy; a
# syntax or schema error makes dbus-daemon refuse to start.
set(config ${WORK}/policy-check.conf)
file(WRITE ${config} "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"
 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/><allow own=\"*\"/></policy>
  <include>${POLICY}</include>
</busconfig>
")
execute_process(COMMAND ${DBUS_DAEMON} --config-file=${config} --fork --print-pid --nopidfile
                OUTPUT_VARIABLE pid ERROR_VARIABLE error RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "dbus-daemon refused the policy: ${error}")
endif()
string(STRIP "${pid}" pid)
execute_process(COMMAND kill ${pid})
