//! Documents compiled into the binary, so an installed agent can run the
//! shipped baseline by name without knowing where packages put files.

/// (name, one-line description, content).
pub const DOCUMENTS: [(&str, &str, &str); 5] = [
    (
        "Rampart-LinuxBaseline",
        "CIS-style Linux baseline: account files, sshd, legacy services, SMB, sysctls, core dumps",
        include_str!("../../../documents/Rampart-LinuxBaseline.yml"),
    ),
    (
        "Rampart-DisableSMB",
        "Stop, disable and mask Samba (smbd, nmbd, samba-ad-dc, smb, nmb)",
        include_str!("../../../documents/Rampart-DisableSMB.yml"),
    ),
    (
        "Rampart-InstallSecretFile",
        "Write a Parameter Store SecureString into a file with strict owner and mode",
        include_str!("../../../documents/Rampart-InstallSecretFile.yml"),
    ),
    (
        "Rampart-PatchBaseline",
        "Scan for or install approved updates, AWS-RunPatchBaseline style (apt or dnf)",
        include_str!("../../../documents/Rampart-PatchBaseline.yml"),
    ),
    (
        "Rampart-ShellExample",
        "aws:runShellScript steps: a read-only check and a change, with SSM exit codes",
        include_str!("../../../documents/Rampart-ShellExample.yml"),
    ),
];

pub fn find(name: &str) -> Option<&'static str> {
    DOCUMENTS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, text)| *text)
}
