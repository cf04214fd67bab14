//! Test root: pulls in every module's tests.
comptime {
    _ = @import("keccak.zig");
    _ = @import("merkle.zig");
    _ = @import("account_index.zig");
    _ = @import("engine.zig");
    _ = @import("engine_test.zig");
    _ = @import("ffi.zig");
}
