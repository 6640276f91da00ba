// SPDX-License-Identifier: Apache-2.0
// tests/unit/loggers/tensorboard_images_test.cpp — PNG encoding read back by libpng, make_grid's layout, image records.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <png.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <kiln/loggers/tensorboard_images.hpp>

namespace {

// libpng's own reader: the pixels of `png` as rows of interleaved channels, and its size.
struct Decoded {
  std::uint32_t width = 0, height = 0, format = 0;
  std::vector<std::uint8_t> pixels;
};
Decoded decode_png(const std::string& png) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_memory(&image, png.data(), png.size()));
  Decoded d{image.width, image.height, image.format, std::vector<std::uint8_t>(PNG_IMAGE_SIZE(image))};
  REQUIRE(png_image_finish_read(&image, nullptr, d.pixels.data(), 0, nullptr));
  return d;
}

std::vector<std::uint8_t> hwc_bytes(const torch::Tensor& chw_u8) {
  auto t = chw_u8.permute({1, 2, 0}).contiguous();
  return {t.data_ptr<std::uint8_t>(), t.data_ptr<std::uint8_t>() + t.numel()};
}

}  // namespace

TEST_CASE("encode_png writes what libpng reads back, pixel for pixel", "[loggers][tensorboard][images]") {
  torch::manual_seed(3);
  SECTION("RGB from floats in [0, 1], clamped") {
    auto rgb = torch::rand({3, 4, 5});
    rgb[0][0][0] = 1.5;   // clamped to 255
    rgb[1][0][0] = -0.2;  // clamped to 0
    const auto d = decode_png(kiln::encode_png(rgb));
    REQUIRE((d.width == 5 && d.height == 4 && d.format == PNG_FORMAT_RGB));
    REQUIRE(d.pixels == hwc_bytes(rgb.clamp(0, 1).mul(255).round().to(torch::kByte)));
    REQUIRE((d.pixels[0] == 255 && d.pixels[1] == 0));
  }
  SECTION("grey [H, W] and RGBA uint8 as they are") {
    const auto grey = torch::randint(0, 256, {3, 2}, torch::kByte);
    const auto g = decode_png(kiln::encode_png(grey));
    REQUIRE((g.width == 2 && g.height == 3 && g.format == PNG_FORMAT_GRAY));
    REQUIRE(g.pixels == hwc_bytes(grey.unsqueeze(0)));
    const auto rgba = torch::randint(0, 256, {4, 2, 3}, torch::kByte);
    const auto d = decode_png(kiln::encode_png(rgba));
    REQUIRE(d.format == PNG_FORMAT_RGBA);
    REQUIRE(d.pixels == hwc_bytes(rgba));
  }
  SECTION("shapes and dtypes it cannot take") {
    REQUIRE_THROWS_WITH(kiln::encode_png(torch::zeros({2, 3, 4})),
                        Catch::Matchers::Contains("C = 1, 3 or 4, or [H, W] (got [2, 3, 4])"));
    REQUIRE_THROWS_WITH(kiln::encode_png(torch::zeros({3, 3, 4}, torch::kInt)),
                        Catch::Matchers::Contains("uint8 or floating point (got Int)"));
  }
}

TEST_CASE("make_grid lays a batch out in ceil(sqrt(N)) columns with padding", "[loggers][tensorboard][images]") {
  auto batch = torch::zeros({5, 1, 2, 2}, torch::kByte);
  for (int i = 0; i < 5; ++i) batch[i].fill_(i + 1);
  const auto grid = kiln::make_grid(batch);
  REQUIRE(grid.sizes() == torch::IntArrayRef({1, 2 * (2 + 2) + 2, 3 * (2 + 2) + 2}));
  for (int i = 0; i < 5; ++i) {
    const int y = (i / 3) * 4 + 2, x = (i % 3) * 4 + 2;
    INFO("image " << i);
    REQUIRE(torch::equal(grid[0].narrow(0, y, 2).narrow(1, x, 2), torch::full({2, 2}, i + 1, torch::kByte)));
  }
  REQUIRE(grid.sum().item<int>() == 4 * (1 + 2 + 3 + 4 + 5));  // padding and the empty sixth cell are 0
  REQUIRE_THROWS_WITH(kiln::make_grid(torch::zeros({2, 2})), Catch::Matchers::Contains("batch [N, C, H, W] (got 2 dimensions)"));
}

TEST_CASE("log_image writes an image record of the encoded PNG", "[loggers][tensorboard][images]") {
  namespace fs = std::filesystem;
  const auto root = fs::temp_directory_path() / "kiln_tb_image_test";
  fs::remove_all(root);
  kiln::TensorBoardLogger logger({.save_dir = root});
  const auto image = torch::randint(0, 256, {3, 4, 6}, torch::kByte);
  kiln::log_image(logger, "img", image, 2);
  std::string events;
  for (auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) events.assign(std::istreambuf_iterator<char>(std::ifstream(e.path(), std::ios::binary).rdbuf()), {});
  const auto png = kiln::encode_png(image);
  // Summary.Image {height = 1: 4, width = 2: 6, colorspace = 3: 3, encoded_image_string = 4}.
  const std::string fields = std::string("\x08\x04\x10\x06\x18\x03\x22", 7);
  REQUIRE(events.find(fields) != std::string::npos);
  REQUIRE(events.find(png) != std::string::npos);
}
