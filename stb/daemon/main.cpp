// boxofficed: the set-top box daemon that hosts the STB plugins.

#include <boxoffice/host/DaemonApplication.h>

int main(int argc, char** argv)
{
    boxoffice::host::DaemonApplication app({"boxofficed",
                                            "BoxOffice set-top box daemon: hosts the STB plugins and the TV "
                                            "user interface's control API.",
                                            "/etc/boxoffice/boxofficed.json"});
    return boxoffice::host::DaemonApplication::runMain(app, argc, argv);
}
