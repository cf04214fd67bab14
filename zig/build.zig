//! GhostPlane engine build.
//!
//!   script/zig build            -> zig-out/lib/libghostplane.a (static, PIC, x86_64_v2, ReleaseFast)
//!   script/zig build -Doptimize=ReleaseSafe   (assertions kept; see README for linking)
//!   script/zig build test       -> unit tests (Debug by default: assertions on)
//!   script/zig build bench      -> benchmark executable (ReleaseFast)
//!
//! The fast path used by sequencer/build.rs (no build runner, ~1.5 s cold), run from the repo root:
//!
//!   script/zig build-lib zig/src/ffi.zig --name ghostplane -static -O ReleaseFast -fPIC \
//!     -mcpu=x86_64_v2 -fno-stack-check -femit-bin=$OUT_DIR/libghostplane.a
//!
//! The archive needs only `memcpy` and `memset` from the final link (libc, which Rust's std
//! links anyway); no compiler-rt symbols are referenced.
const std = @import("std");
const builtin = @import("builtin");

pub fn build(b: *std.Build) void {
    const target = b.resolveTargetQuery(if (builtin.cpu.arch == .x86_64)
        .{ .cpu_model = .{ .explicit = &std.Target.x86.cpu.x86_64_v2 } }
    else
        .{ .cpu_model = .baseline });
    const optimize = b.option(std.builtin.OptimizeMode, "optimize", "Library/bench mode (default ReleaseFast)") orelse .ReleaseFast;
    const test_optimize = b.option(std.builtin.OptimizeMode, "test-optimize", "Test mode (default Debug)") orelse .Debug;

    const lib = b.addLibrary(.{
        .name = "ghostplane",
        .linkage = .static,
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/ffi.zig"),
            .target = target,
            .optimize = optimize,
            .pic = true,
            .stack_check = false,
        }),
    });
    b.installArtifact(lib);

    const tests = b.addTest(.{
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/tests.zig"),
            .target = target,
            .optimize = test_optimize,
        }),
    });
    const run_tests = b.addRunArtifact(tests);
    b.step("test", "Run unit tests").dependOn(&run_tests.step);

    const bench = b.addExecutable(.{
        .name = "ghostplane-bench",
        .root_module = b.createModule(.{
            .root_source_file = b.path("src/bench.zig"),
            .target = target,
            .optimize = optimize,
        }),
    });
    const run_bench = b.addRunArtifact(bench);
    if (b.args) |args| run_bench.addArgs(args);
    b.step("bench", "Run benchmarks").dependOn(&run_bench.step);
}
