// boxoffice-server: the operator's companion server, hosting the server plugins.

#include <boxoffice/host/DaemonApplication.h>

int main(int argc, char** argv)
{
    boxoffice::host::DaemonApplication app({"boxoffice-server",
                                            "BoxOffice companion server: hosts the operator's server plugins "
                                            "(accounts, catalog, ledger, ticketing, sync, headend).",
                                            "/etc/boxoffice/boxoffice-server.json"});
    return boxoffice::host::DaemonApplication::runMain(app, argc, argv);
}
