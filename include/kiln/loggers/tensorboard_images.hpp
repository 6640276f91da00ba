// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/tensorboard_images.hpp — images for TensorBoard: a tensor or a batch's grid encoded as PNG by libpng (target kiln::images).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include <png.h>

#include <ATen/ATen.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/loggers/tensorboard_logger.hpp>

namespace kiln {

/// A batch [N, C, H, W] as one image [C, rows*(H+padding)+padding, cols*(W+padding)+padding]:
/// ceil(sqrt(N)) columns, filled row by row, `padding` pixels of `pad_value` around each image
/// (torchvision's make_grid with nrow = ceil(sqrt(N))).
inline at::Tensor make_grid(const at::Tensor& batch, std::int64_t padding = 2, double pad_value = 0.0) {
  if (batch.dim() != 4)
    throw Error(fmt::format("kiln: make_grid takes a batch [N, C, H, W] (got {} dimensions)", batch.dim()));
  const auto n = batch.size(0), c = batch.size(1), h = batch.size(2), w = batch.size(3);
  const auto cols = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  const auto rows = n == 0 ? 0 : (n + cols - 1) / cols;
  auto grid = at::full({c, rows * (h + padding) + padding, cols * (w + padding) + padding}, pad_value, batch.options());
  for (std::int64_t i = 0; i < n; ++i) {
    const auto y = (i / cols) * (h + padding) + padding, x = (i % cols) * (w + padding) + padding;
    grid.narrow(1, y, h).narrow(2, x, w).copy_(batch[i]);
  }
  return grid;
}

/// `image` [C, H, W] (C = 1, 3 or 4: grey, RGB, RGBA) or [H, W] as PNG bytes. Floating values
/// are taken as [0, 1] (clamped, then scaled to 0..255 and rounded); uint8 as they are.
inline std::string encode_png(const at::Tensor& image) {
  at::Tensor chw = image.dim() == 2 ? image.unsqueeze(0) : image;
  if (chw.dim() != 3 || (chw.size(0) != 1 && chw.size(0) != 3 && chw.size(0) != 4)) {
    std::string shape;
    for (auto d : image.sizes()) shape += fmt::format("{}{}", shape.empty() ? "" : ", ", d);
    throw Error(fmt::format("kiln: an image must be [C, H, W] with C = 1, 3 or 4, or [H, W] (got [{}])", shape));
  }
  at::Tensor bytes;
  if (chw.scalar_type() == at::kByte) bytes = chw;
  else if (at::isFloatingType(chw.scalar_type())) bytes = chw.detach().to(at::kFloat).clamp(0, 1).mul(255).round().to(at::kByte);
  else throw Error(fmt::format("kiln: an image must be uint8 or floating point (got {})", c10::toString(chw.scalar_type())));
  bytes = bytes.permute({1, 2, 0}).contiguous().cpu();  // libpng takes rows of interleaved channels

  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.height = static_cast<png_uint_32>(bytes.size(0));
  png.width = static_cast<png_uint_32>(bytes.size(1));
  const int channels = static_cast<int>(bytes.size(2));
  png.format = channels == 1 ? PNG_FORMAT_GRAY : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
  png_alloc_size_t size = 0;
  const void* pixels = bytes.data_ptr<std::uint8_t>();
  std::string out;
  if (png_image_write_get_memory_size(png, size, 0, pixels, 0, nullptr)) {  // first the size, then the bytes
    out.resize(size);
    if (!png_image_write_to_memory(&png, out.data(), &size, 0, pixels, 0, nullptr)) out.clear();
    out.resize(size);
  }
  if (out.empty()) {
    const std::string why = png.message;
    png_image_free(&png);
    throw Error(fmt::format("kiln: libpng could not encode a {}x{} image: {}", png.width, png.height, why));
  }
  png_image_free(&png);
  return out;
}

/// Writes `image` to `logger`'s IMAGES tab at `step`: [C, H, W] or [H, W] as encode_png takes
/// it, or a batch [N, C, H, W] as make_grid lays it out.
inline void log_image(TensorBoardLogger& logger, std::string_view tag, const at::Tensor& image, std::int64_t step) {
  const at::Tensor one = image.dim() == 4 ? make_grid(image) : image;
  const std::string png = encode_png(one);
  const auto h = one.size(-2), w = one.size(-1);
  const int channels = one.dim() == 2 ? 1 : static_cast<int>(one.size(0));
  logger.log_encoded_image(tag, png, h, w, channels, step);
}

}  // namespace kiln
