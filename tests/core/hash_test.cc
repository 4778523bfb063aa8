#include "core/hash.h"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace edl {
namespace {

constexpr char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
// FIPS 180-2's two-block message.
constexpr char kTwoBlocks[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr char kTwoBlocksInput[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

TEST(Sha256HexTest, KnownDigests) {
  EXPECT_EQ(*Sha256Hex(""), kEmpty);
  EXPECT_EQ(*Sha256Hex("abc"), kAbc);
  EXPECT_EQ(*Sha256Hex(kTwoBlocksInput), kTwoBlocks);
}

// The thread's context is reused: nothing of one call may leak into the next.
TEST(Sha256HexTest, CallsDoNotInfluenceEachOther) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*Sha256Hex("abc"), kAbc);
    EXPECT_EQ(*Sha256Hex(kTwoBlocksInput), kTwoBlocks);
    EXPECT_EQ(*Sha256Hex(""), kEmpty);
  }
}

TEST(Sha256HexTest, ThreadsHashAtOnce) {
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&wrong, t] {
      for (int i = 0; i < 2000; ++i) {
        if (*Sha256Hex(i % 2 == 0 ? "abc" : kTwoBlocksInput) != (i % 2 == 0 ? kAbc : kTwoBlocks)) ++wrong[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace edl
