# rampart %post ($1: 1 on first install, 2 on upgrade).
# The private state directory: results and step scripts can hold command
# output, so root only, whatever its mode was before. Its contents are kept
# on upgrades. (Created here because cargo-generate-rpm cannot package an
# empty directory; docs/packaging.md.)
mkdir -p /var/lib/rampart
chown root:root /var/lib/rampart
chmod 0700 /var/lib/rampart
if [ "$1" -eq 1 ]; then
    # Enable on first install, as the .deb does; systemctl works offline in
    # an image root (rpm --root runs scriptlets chrooted).
    systemctl --no-reload enable rampart.service >/dev/null 2>&1 || :
    # Start only on a running system, never in an image root or chroot.
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null 2>&1 || :
        systemctl start rampart.service >/dev/null 2>&1 || :
    fi
fi
