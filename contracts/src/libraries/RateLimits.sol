// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title RateLimits
/// @notice Continuous-refill token buckets. A bucket holds at most `capacity`, refills at
/// `refillPerSecond`, and a transfer consumes its amount. An unconfigured bucket (capacity 0)
/// allows nothing: a route is closed until an admin opens it on purpose.
library RateLimits {
    /// @dev Settings and level live in one slot each: only `level`/`updatedAt` change on the hot path.
    struct Bucket {
        uint128 capacity;
        uint128 refillPerSecond;
        uint128 level;
        uint64 updatedAt;
    }

    /// @notice The bucket cannot cover `requested` now; `retryAfterSeconds` is the wait until it can
    /// (type(uint256).max when it never can: above capacity, or no refill).
    error RateLimited(address token, uint64 chainId, uint256 requested, uint256 available, uint256 retryAfterSeconds);

    /// @notice Amount the bucket can release now.
    function available(Bucket storage bucket) internal view returns (uint256) {
        uint256 elapsed = block.timestamp - bucket.updatedAt;
        uint256 refilled = uint256(bucket.level) + elapsed * bucket.refillPerSecond;
        return refilled < bucket.capacity ? refilled : bucket.capacity;
    }

    /// @notice Takes `amount` from the bucket or reverts with how long to wait.
    function consume(Bucket storage bucket, uint256 amount, address token, uint64 chainId) internal {
        uint256 now_ = available(bucket);
        if (amount > now_) {
            uint256 wait = type(uint256).max;
            if (amount <= bucket.capacity && bucket.refillPerSecond != 0) {
                uint256 missing = amount - now_;
                wait = (missing + bucket.refillPerSecond - 1) / bucket.refillPerSecond;
            }
            revert RateLimited(token, chainId, amount, now_, wait);
        }
        // Cannot truncate: amount <= now_ <= capacity, a uint128.
        // forge-lint: disable-next-line(unsafe-typecast)
        bucket.level = uint128(now_ - amount);
        bucket.updatedAt = uint64(block.timestamp);
    }

    /// @notice Reconfigures a bucket; the level carries over, clipped to the new capacity.
    function configure(Bucket storage bucket, uint128 capacity, uint128 refillPerSecond) internal {
        uint256 level = bucket.updatedAt == 0 ? capacity : available(bucket);
        bucket.capacity = capacity;
        bucket.refillPerSecond = refillPerSecond;
        bucket.level = uint128(level < capacity ? level : capacity);
        bucket.updatedAt = uint64(block.timestamp);
    }
}
