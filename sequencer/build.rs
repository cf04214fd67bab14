//! Builds the GhostPlane Zig engine (`zig/src/ffi.zig`, the C ABI root) into a static library in
//! `OUT_DIR` and links it. One `zig build-lib` call, the fast path documented in `zig/build.zig`
//! (no build runner): ReleaseFast, PIC, a pinned CPU model (x86_64_v2) so the archive runs on any
//! machine of that level (plus the engine's v3/v4 Keccak modules, picked by CPUID at run time), no stack probes (`-fno-stack-check`); the archive references only
//! `memcpy`/`memset`, which the final Rust link provides, so no compiler_rt is needed.
//!
//! Cached: cargo reruns this only when a file under `zig/src` (or this script) changes.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("sequencer/ lives in the repository root")
        .to_path_buf();
    // GHOSTPLANE_SRC overrides the engine source directory (e.g. a snapshot of a commit).
    println!("cargo:rerun-if-env-changed=GHOSTPLANE_SRC");
    let zig_src = env::var("GHOSTPLANE_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("zig/src"));
    let ffi_root = zig_src.join("ffi.zig");
    println!("cargo:rerun-if-changed={}", zig_src.display());
    assert!(
        ffi_root.exists(),
        "{} not found: the GhostPlane engine source is part of this repository (GHOSTPLANE_SRC \
         points elsewhere?)",
        ffi_root.display()
    );
    rerun_on_tree(&zig_src);

    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let lib = out_dir.join("libghostplane.a");
    let zig = env::var("GHOSTPLANE_ZIG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("script/zig"));
    println!("cargo:rerun-if-env-changed=GHOSTPLANE_ZIG");
    let mut cmd = Command::new(&zig);
    cmd.current_dir(&root)
        .args([
            "build-lib",
            "--name",
            "ghostplane",
            "-static",
            "-fno-stack-check",
        ])
        .arg("--cache-dir")
        .arg(out_dir.join("zig-cache"))
        .arg("--global-cache-dir")
        .arg(out_dir.join("zig-global-cache"));
    let wide = zig_src.join("wide");
    if wide.join("keccak_v3.zig").exists() {
        // Per-module options apply to the -M that follows them (zig/build.zig): the root at the
        // pinned x86_64_v2, the two wide Keccak copies at v3/v4, chosen by CPUID at run time.
        cmd.args([
            "--dep",
            "keccak_v3",
            "--dep",
            "keccak_v4",
            "-O",
            "ReleaseFast",
            "-fPIC",
        ])
        .arg(format!("-mcpu={}", zig_cpu()))
        .arg(format!("-Mghostplane={}", ffi_root.display()))
        .args(["-O", "ReleaseFast", "-fPIC", "-mcpu=x86_64_v3"])
        .arg(format!(
            "-Mkeccak_v3={}",
            wide.join("keccak_v3.zig").display()
        ))
        .args(["-O", "ReleaseFast", "-fPIC", "-mcpu=x86_64_v4"])
        .arg(format!(
            "-Mkeccak_v4={}",
            wide.join("keccak_v4.zig").display()
        ));
    } else {
        cmd.args(["-O", "ReleaseFast", "-fPIC"])
            .arg(format!("-mcpu={}", zig_cpu()))
            .arg(&ffi_root);
    }
    let status = cmd.arg(format!("-femit-bin={}", lib.display())).status();
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
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rerun_on_tree(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
