//! GhostPlane engine build.
//!
//!   script/zig build            -> zig-out/lib/libghostplane.a (static, PIC, x86_64_v2, ReleaseFast)
//!   script/zig build -Doptimize=safe   (assertions kept; see README for linking)
//!   script/zig build test       -> unit tests (ReleaseSafe by default: assertions on)
//!   script/zig build bench      -> benchmark executable (ReleaseFast)
//!
//! The fast path used by sequencer/build.rs (no build runner), run from the repo root. Per-module
//! options (-O, -fPIC, -mcpu) apply to the -M that follows them, so each module repeats them:
//!
//!   script/zig build-lib --name ghostplane -static -fno-stack-check \
//!     --dep keccak_v3 --dep keccak_v4 -O ReleaseFast -fPIC -mcpu=x86_64_v2 -Mghostplane=zig/src/ffi.zig \
//!     -O ReleaseFast -fPIC -mcpu=x86_64_v3 -Mkeccak_v3=zig/src/wide/keccak_v3.zig \
//!     -O ReleaseFast -fPIC -mcpu=x86_64_v4 -Mkeccak_v4=zig/src/wide/keccak_v4.zig \
//!     -femit-bin=$OUT_DIR/libghostplane.a
//!
//! The archive needs only `memcpy` and `memset` from the final link (libc, which Rust's std
//! links anyway); no compiler-rt symbols are referenced.
const std = @import("std");
const builtin = @import("builtin");

fn targetOf(b: *std.Build, cpu: *const std.Target.Cpu.Model) std.Build.ResolvedTarget {
    return b.resolveTargetQuery(.{ .cpu_arch = .x86_64, .cpu_model = .{ .explicit = cpu } });
}

/// The root module plus the two wide Keccak copies (same source via wide/ symlinks), each with
/// its own CPU; see src/keccak_lanes.zig.
fn rootModule(b: *std.Build, root: []const u8, optimize: std.builtin.OptimizeMode, pic: ?bool) *std.Build.Module {
    const module = b.createModule(.{
        .root_source_file = b.path(root),
        .target = targetOf(b, &std.Target.x86.cpu.x86_64_v2),
        .optimize = optimize,
        .pic = pic,
        .stack_check = false,
    });
    const wide = [_]struct { []const u8, []const u8, *const std.Target.Cpu.Model }{
        .{ "keccak_v3", "src/wide/keccak_v3.zig", &std.Target.x86.cpu.x86_64_v3 },
        .{ "keccak_v4", "src/wide/keccak_v4.zig", &std.Target.x86.cpu.x86_64_v4 },
    };
    for (wide) |w| {
        module.addImport(w[0], b.createModule(.{
            .root_source_file = b.path(w[1]),
            .target = targetOf(b, w[2]),
            .optimize = optimize,
            .pic = pic,
            .stack_check = false,
        }));
    }
    return module;
}

pub fn build(b: *std.Build) void {
    if (builtin.cpu.arch != .x86_64) @panic("GhostPlane's engine builds for x86_64 only");
    const optimize = b.option(std.builtin.OptimizeMode, "optimize", "Library/bench mode (default ReleaseFast)") orelse .fast;
    const test_optimize = b.option(std.builtin.OptimizeMode, "test-optimize", "Test mode (default ReleaseSafe: assertions on, wide Keccak kernels tested)") orelse .safe;

    const lib = b.addLibrary(.{
        .name = "ghostplane",
        .linkage = .static,
        .root_module = rootModule(b, "src/ffi.zig", optimize, true),
    });
    b.installArtifact(lib);

    const tests = b.addTest(.{
        .root_module = rootModule(b, "src/tests.zig", test_optimize, null),
    });
    const run_tests = b.addRunArtifact(tests);
    b.step("test", "Run unit tests").dependOn(&run_tests.step);

    const bench = b.addExecutable(.{
        .name = "ghostplane-bench",
        .root_module = rootModule(b, "src/bench.zig", optimize, null),
    });
    const run_bench = b.addRunArtifact(bench);
    b.step("bench", "Run benchmarks").dependOn(&run_bench.step);
}
