# rampart %preun ($1: 0 on erase, 1 on upgrade). On erase, stop and disable
# the agent before its files go away; on upgrade it keeps running until
# %postun restarts it.
if [ "$1" -eq 0 ]; then
    systemctl --no-reload disable rampart.service >/dev/null 2>&1 || :
    if [ -d /run/systemd/system ]; then
        systemctl stop rampart.service >/dev/null 2>&1 || :
    fi
fi
