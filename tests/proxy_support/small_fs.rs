//! A small file system of the test's own, for a data dir that fills up or is read-only: a
//! tmpfs, else an ext4 image on a loop device. Mounting needs root; without it the test fails
//! saying so, unless `HLSPLICE_SKIP_FULL_DISK=1` is set (then it says it skipped).
use std::path::PathBuf;
use std::process::Command;

use super::temp_dir;

/// A mounted file system; unmounted (and its mount point removed) on drop.
pub struct SmallFs {
    pub mount_point: PathBuf,
    image: Option<PathBuf>,
    /// What was mounted, for the test's log.
    pub kind: &'static str,
}

impl SmallFs {
    /// A tmpfs of `bytes`, else an ext4 image of that size on a loop device
    /// (`HLSPLICE_FULL_DISK_FS=ext4` goes straight to the image).
    pub fn mount(bytes: u64) -> Result<SmallFs, String> {
        let base = temp_dir("small-fs");
        let mount_point = base.join("mnt");
        std::fs::create_dir_all(&mount_point).map_err(|e| e.to_string())?;
        let tmpfs = if std::env::var("HLSPLICE_FULL_DISK_FS").as_deref() == Ok("ext4") {
            Err("not tried (HLSPLICE_FULL_DISK_FS=ext4)".to_owned())
        } else {
            run(Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={bytes}")])
                .arg("tmpfs")
                .arg(&mount_point))
        };
        let tmpfs_error = match tmpfs {
            Ok(()) => {
                return Ok(SmallFs {
                    mount_point,
                    image: None,
                    kind: "tmpfs",
                });
            }
            Err(e) => e,
        };
        let image = base.join("fs.img");
        let ext4 = std::fs::File::create(&image)
            .and_then(|f| f.set_len(bytes))
            .map_err(|e| e.to_string())
            .and_then(|()| run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image)))
            .and_then(|()| {
                run(Command::new("mount")
                    .args(["-o", "loop"])
                    .arg(&image)
                    .arg(&mount_point))
            });
        match ext4 {
            Ok(()) => Ok(SmallFs {
                mount_point,
                image: Some(image),
                kind: "ext4 on a loop device",
            }),
            Err(ext4_error) => {
                let _ = std::fs::remove_dir_all(&base);
                Err(format!(
                    "tmpfs: {tmpfs_error}; loop-mounted ext4: {ext4_error}"
                ))
            }
        }
    }

    /// [`SmallFs::mount`], or the test's failure saying why none could be mounted; `None`
    /// (the test skips) only with `HLSPLICE_SKIP_FULL_DISK=1`.
    pub fn mount_or_skip(test: &str, bytes: u64) -> Option<SmallFs> {
        match SmallFs::mount(bytes) {
            Ok(fs) => {
                eprintln!("{test}: a file system of its own: {}", fs.kind);
                Some(fs)
            }
            Err(why) if std::env::var("HLSPLICE_SKIP_FULL_DISK").as_deref() == Ok("1") => {
                eprintln!("{test}: skipped (HLSPLICE_SKIP_FULL_DISK=1): {why}");
                None
            }
            Err(why) => panic!(
                "{test} needs a small file system of its own, and mounting one needs root (or a \
                 loop device): {why}. Set HLSPLICE_SKIP_FULL_DISK=1 to skip it."
            ),
        }
    }

    /// Makes the file system read-only, as the kernel does after errors.
    pub fn remount_read_only(&self) -> Result<(), String> {
        run(Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.mount_point))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        // A lazy unmount when a file is still open (a test that failed half-way).
        if run(Command::new("umount").arg(&self.mount_point)).is_err() {
            let _ = run(Command::new("umount").arg("-l").arg(&self.mount_point));
        }
        if let Some(base) = self.mount_point.parent() {
            let _ = std::fs::remove_dir_all(base);
        }
        if let Some(image) = &self.image {
            let _ = std::fs::remove_file(image);
        }
    }
}

/// Runs a command; its stderr when it fails.
fn run(command: &mut Command) -> Result<(), String> {
    match command.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "{:?} exited {}: {}",
            command,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!("{command:?}: {e}")),
    }
}
