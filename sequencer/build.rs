//! Builds the GhostPlane Zig engine (`zig/src/ffi.zig`, the C ABI root) into a static library in
//! `OUT_DIR` and links it. One `zig build-lib` call, the fast path documented in `zig/build.zig`
//! (no build runner): ReleaseFast, PIC, a pinned CPU model (x86_64_v2) so the archive runs on any
//! machine of that level, no stack probes (`-fno-stack-check`); the archive references only
//! `memcpy`/`memset`, which the final Rust link provides, so no compiler_rt is needed.
//!
//! Cached: cargo reruns this only when a file under `zig/src` (or this script) changes.
//!
//! While the engine source is absent (it is written in parallel with this crate), the crate still
//! compiles its engine-independent modules (`roots`, `tx`) and says so in a cargo warning; the
//! `ghostplane` cfg gates everything that crosses the ABI.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    println!("cargo:rustc-check-cfg=cfg(ghostplane)");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("sequencer/ lives in the repository root").to_path_buf();
    // GHOSTPLANE_SRC overrides the engine source directory (e.g. a snapshot of a commit).
    println!("cargo:rerun-if-env-changed=GHOSTPLANE_SRC");
    let zig_src = env::var("GHOSTPLANE_SRC").map(PathBuf::from).unwrap_or_else(|_| root.join("zig/src"));
    let ffi_root = zig_src.join("ffi.zig");
    println!("cargo:rerun-if-changed={}", zig_src.display());
    if !ffi_root.exists() {
        println!(
            "cargo:warning=zig/src/ffi.zig not found: building ghostbridge-sequencer without the \
             GhostPlane engine (only `roots` and `tx`)"
        );
        return;
    }
    rerun_on_tree(&zig_src);

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let lib = out_dir.join("libghostplane.a");
    let zig = env::var("GHOSTPLANE_ZIG").map(PathBuf::from).unwrap_or_else(|_| root.join("script/zig"));
    println!("cargo:rerun-if-env-changed=GHOSTPLANE_ZIG");
    let status = Command::new(&zig)
        .current_dir(&root)
        .args(["build-lib", "-static", "-O", "ReleaseFast", "-fPIC", "-fno-stack-check"])
        .arg(format!("-mcpu={}", zig_cpu()))
        .arg("--cache-dir")
        .arg(out_dir.join("zig-cache"))
        .arg("--global-cache-dir")
        .arg(out_dir.join("zig-global-cache"))
        .arg(format!("-femit-bin={}", lib.display()))
        .arg("--name")
        .arg("ghostplane")
        .arg(&ffi_root)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "zig build-lib of {} failed ({s}); if zig is not installed run ./script/setup.sh",
            ffi_root.display()
        ),
        Err(e) => panic!(
            "could not run zig ({}): {e}; run ./script/setup.sh to install the pinned zig",
            zig.display()
        ),
    }
    println!("cargo:rustc-link-search=native={}", out_dir.display());
    println!("cargo:rustc-link-lib=static=ghostplane");
    println!("cargo:rustc-cfg=ghostplane");
}

/// The pinned CPU model (zig/build.zig): x86_64_v2 on x86_64, the baseline elsewhere.
fn zig_cpu() -> &'static str {
    match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => "x86_64_v2",
        _ => "baseline",
    }
}

/// Emits `rerun-if-changed` for every file under `dir` (cargo only watches a directory's mtime).
fn rerun_on_tree(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rerun_on_tree(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
