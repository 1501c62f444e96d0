# Every third-party dependency is found here, once, so that components only
# name imported targets. The Debian bookworm packages are listed in .ci/install-deps.

find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(SQLite3 REQUIRED)

# Poco's DataPostgreSQL config refers to PostgreSQL::client, which nothing defines.
find_package(PostgreSQL REQUIRED)
if(NOT TARGET PostgreSQL::client)
  add_library(PostgreSQL::client INTERFACE IMPORTED)
  target_link_libraries(PostgreSQL::client INTERFACE PostgreSQL::PostgreSQL)
endif()
find_package(Poco 1.11 REQUIRED COMPONENTS
  Foundation Util Net NetSSL Crypto JSON Data DataSQLite DataPostgreSQL)

find_package(PkgConfig REQUIRED)
pkg_check_modules(GST IMPORTED_TARGET gstreamer-1.0>=1.20 gstreamer-base-1.0 gstreamer-app-1.0 gstreamer-video-1.0)
pkg_check_modules(GSTCHECK IMPORTED_TARGET gstreamer-check-1.0)
pkg_check_modules(DVBPSI IMPORTED_TARGET libdvbpsi)
pkg_check_modules(SYSTEMD IMPORTED_TARGET libsystemd)
find_package(sdbus-c++ QUIET)

# libdvbcsa ships no pkg-config file.
find_path(DVBCSA_INCLUDE_DIR dvbcsa/dvbcsa.h)
find_library(DVBCSA_LIBRARY dvbcsa)
if(DVBCSA_INCLUDE_DIR AND DVBCSA_LIBRARY AND NOT TARGET dvbcsa::dvbcsa)
  add_library(dvbcsa::dvbcsa UNKNOWN IMPORTED)
  set_target_properties(dvbcsa::dvbcsa PROPERTIES
    IMPORTED_LOCATION ${DVBCSA_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${DVBCSA_INCLUDE_DIR})
endif()

if(BOXOFFICE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(BOXOFFICE_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
