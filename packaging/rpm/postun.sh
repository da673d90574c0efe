# rampart %postun ($1: 0 on erase, 1 on upgrade).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    # After an upgrade, restart the agent if it was running.
    if [ "$1" -ge 1 ]; then
        systemctl try-restart rampart.service >/dev/null 2>&1 || :
    fi
fi
if [ "$1" -eq 0 ]; then
    # rpm removes the files it owns but not the folders around them (the
    # package cannot own them; docs/packaging.md); drop those left empty.
    # A modified rampart.toml stays as rampart.toml.rpmsave, and
    # /var/lib/rampart keeps its state: rpm has no purge.
    rmdir /etc/rampart/associations.d /etc/rampart \
        /usr/share/rampart/documents/ssm /usr/share/rampart/documents /usr/share/rampart \
        /usr/share/doc/rampart/docs /usr/share/doc/rampart 2>/dev/null || :
fi
