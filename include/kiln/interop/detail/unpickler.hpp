// SPDX-License-Identifier: Apache-2.0
// kiln/interop/detail/unpickler.hpp — reads the pickle of a torch.save'd dict of tensors, nothing more.
#pragma once
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>

// LibTorch's own torch::pickle_load turns a collections.OrderedDict into None (it expects one only
// as a tensor's empty backward hooks), and Module.state_dict() is an OrderedDict: so a file written
// by Python's `torch.save(model.state_dict(), path)` loads as None. This reader runs the subset of
// the pickle machine that torch.save emits for dicts, lists and tuples of tensors and numbers, and
// calls nothing but the handful of torch rebuild functions it knows: like torch.load's
// weights_only mode, an unknown global is an error, never code run.
namespace kiln::detail::pickle {

struct Object;
using Ref = std::shared_ptr<Object>;

struct Object {
  enum class Kind { none, boolean, integer, real, string, tuple, list, dict, global, storage, tensor };
  Kind kind = Kind::none;
  std::int64_t integer = 0;
  double real = 0;
  std::string text;                          // string; "module.name" of a global
  std::vector<Ref> items;                    // tuple, list
  std::vector<std::pair<Ref, Ref>> entries;  // dict, in insertion order
  at::Tensor tensor;                         // storage (flat, its dtype) or tensor

  static Ref make(Kind k) {
    auto o = std::make_shared<Object>();
    o->kind = k;
    return o;
  }
  /// "an int", "a Tensor": for messages.
  const char* kind_name() const {
    constexpr const char* names[] = {"None", "a bool", "an int", "a float", "a str", "a tuple", "a list", "a dict",
                                     "a global", "a storage", "a Tensor"};
    return names[static_cast<int>(kind)];
  }
};

/// Loads the storage a persistent id names: (storage dtype, record key, element count).
using StorageLoader = std::function<at::Tensor(at::ScalarType, const std::string& key, std::int64_t numel)>;

/// The dtype of a typed storage class ("torch.FloatStorage"), or Undefined.
inline at::ScalarType storage_dtype(const std::string& global) {
  static const std::pair<const char*, at::ScalarType> table[] = {
      {"torch.FloatStorage", at::kFloat},          {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},            {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},            {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},          {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},            {"torch.BoolStorage", at::kBool},
      {"torch.ComplexFloatStorage", at::kComplexFloat}, {"torch.ComplexDoubleStorage", at::kComplexDouble}};
  for (const auto& [name, type] : table)
    if (global == name) return type;
  return at::ScalarType::Undefined;
}

class Machine {
 public:
  /// `where` names the file in every error ("kiln: <where>: ...").
  Machine(const char* data, std::size_t size, std::string where, StorageLoader load)
      : begin_(data), p_(data), end_(data + size), where_(std::move(where)), load_(std::move(load)) {}

  Ref run() {
    for (;;) {
      const auto op = static_cast<unsigned char>(byte());
      switch (op) {
        case 0x80: byte(); break;                       // PROTO n
        case 0x95: take(8); break;                      // FRAME size (protocol 4)
        case '.': return pop();                         // STOP
        case '(': marks_.push_back(stack_.size()); break;
        case 'N': push(Object::make(Object::Kind::none)); break;
        case 0x88: push(boolean(true)); break;          // NEWTRUE
        case 0x89: push(boolean(false)); break;         // NEWFALSE
        case 'K': push(integer(u8())); break;           // BININT1
        case 'M': push(integer(uint_le(2))); break;     // BININT2
        case 'J': push(integer(static_cast<std::int32_t>(uint_le(4)))); break;  // BININT
        case 0x8a: push(integer(long1(u8()))); break;   // LONG1
        case 'G': push(real_be()); break;               // BINFLOAT
        case 'X': push(string(uint_le(4))); break;      // BINUNICODE
        case 0x8c: push(string(u8())); break;           // SHORT_BINUNICODE
        case 'U': push(string(u8())); break;            // SHORT_BINSTRING
        case 'T': push(string(uint_le(4))); break;      // BINSTRING
        case 'C': push(string(u8())); break;            // SHORT_BINBYTES
        case 'B': push(string(uint_le(4))); break;      // BINBYTES
        case ')': push(Object::make(Object::Kind::tuple)); break;
        case ']': push(Object::make(Object::Kind::list)); break;
        case '}': push(Object::make(Object::Kind::dict)); break;
        case 't': push(sequence(Object::Kind::tuple, since_mark())); break;
        case 'l': push(sequence(Object::Kind::list, since_mark())); break;
        case 0x85: case 0x86: case 0x87: {              // TUPLE1..3
          const std::size_t n = op - 0x84u;
          need(n);
          std::vector<Ref> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
          stack_.resize(stack_.size() - n);
          push(sequence(Object::Kind::tuple, std::move(items)));
          break;
        }
        case 'c': {                                     // GLOBAL module\nname\n
          auto module = line();
          push(global(module + "." + line()));
          break;
        }
        case 0x93: {                                    // STACK_GLOBAL
          auto name = pop(), module = pop();
          push(global(module->text + "." + name->text));
          break;
        }
        case 'q': memo_[u8()] = top(); break;           // BINPUT
        case 'r': memo_[uint_le(4)] = top(); break;     // LONG_BINPUT
        case 0x94: memo_[memo_.size()] = top(); break;  // MEMOIZE
        case 'h': push(recall(u8())); break;            // BINGET
        case 'j': push(recall(uint_le(4))); break;      // LONG_BINGET
        case 'a': {                                     // APPEND
          auto v = pop();
          expect(top(), Object::Kind::list, "APPEND")->items.push_back(v);
          break;
        }
        case 'e': {                                     // APPENDS
          auto items = since_mark();
          auto& list = expect(top(), Object::Kind::list, "APPENDS")->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case 's': {                                     // SETITEM
          auto v = pop(), k = pop();
          expect(top(), Object::Kind::dict, "SETITEM")->entries.emplace_back(k, v);
          break;
        }
        case 'u': {                                     // SETITEMS
          auto items = since_mark();
          if (items.size() % 2) fail("SETITEMS with an odd number of items");
          auto& dict = expect(top(), Object::Kind::dict, "SETITEMS")->entries;
          for (std::size_t i = 0; i < items.size(); i += 2) dict.emplace_back(items[i], items[i + 1]);
          break;
        }
        case 'b': pop(); break;  // BUILD: the state of an OrderedDict (_metadata) or a Parameter; not needed
        case 'R': {                                     // REDUCE
          auto args = pop(), callable = pop();
          push(reduce(*callable, *expect(args, Object::Kind::tuple, "REDUCE")));
          break;
        }
        case 'Q': push(persistent(*expect(pop(), Object::Kind::tuple, "BINPERSID"))); break;
        default: fail(fmt::format("opcode 0x{:02x} at byte {}, which a torch.save'd dict of tensors does not use", op,
                                  p_ - 1 - begin_));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(fmt::format("kiln: {}: cannot read its pickle (data.pkl): {}", where_, why));
  }
  const char* take(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) fail("it ends in the middle of an instruction (truncated)");
    const char* at = p_;
    p_ += n;
    return at;
  }
  char byte() { return *take(1); }
  std::uint32_t u8() { return static_cast<unsigned char>(byte()); }
  std::uint64_t uint_le(int n) {
    const auto* b = reinterpret_cast<const unsigned char*>(take(static_cast<std::size_t>(n)));
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
    return v;
  }
  std::int64_t long1(std::uint32_t n) {
    if (n > 8) fail(fmt::format("an integer of {} bytes", n));
    if (n == 0) return 0;
    const std::uint64_t v = uint_le(static_cast<int>(n));
    const int shift = 64 - 8 * static_cast<int>(n);  // sign-extend from the top byte
    return shift == 0 ? static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v << shift) >> shift;
  }
  Ref real_be() {
    const auto* b = reinterpret_cast<const unsigned char*>(take(8));
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];
    auto o = Object::make(Object::Kind::real);
    std::memcpy(&o->real, &bits, 8);
    return o;
  }
  std::string line() {
    std::string s;
    for (char c = byte(); c != '\n'; c = byte()) s += c;
    return s;
  }
  static Ref boolean(bool b) {
    auto o = Object::make(Object::Kind::boolean);
    o->integer = b;
    return o;
  }
  static Ref integer(std::int64_t v) {
    auto o = Object::make(Object::Kind::integer);
    o->integer = v;
    return o;
  }
  Ref string(std::uint64_t n) {
    auto o = Object::make(Object::Kind::string);
    o->text.assign(take(n), n);
    return o;
  }
  static Ref global(std::string name) {
    auto o = Object::make(Object::Kind::global);
    o->text = std::move(name);
    return o;
  }
  static Ref sequence(Object::Kind k, std::vector<Ref> items) {
    auto o = Object::make(k);
    o->items = std::move(items);
    return o;
  }

  void push(Ref r) { stack_.push_back(std::move(r)); }
  void need(std::size_t n) const {
    const std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) fail("an instruction takes more values than the stack holds");
  }
  Ref pop() {
    need(1);
    auto r = std::move(stack_.back());
    stack_.pop_back();
    return r;
  }
  const Ref& top() const {
    need(1);
    return stack_.back();
  }
  std::vector<Ref> since_mark() {
    if (marks_.empty()) fail("a MARK is missing");
    const std::size_t at = marks_.back();
    marks_.pop_back();
    std::vector<Ref> items(stack_.begin() + static_cast<std::ptrdiff_t>(at), stack_.end());
    stack_.resize(at);
    return items;
  }
  Ref recall(std::uint64_t key) const {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail(fmt::format("memo entry {} is read before it is written", key));
    return it->second;
  }
  const Ref& expect(const Ref& r, Object::Kind k, const char* op) const {
    if (r->kind != k)
      fail(fmt::format("{} on {} (expected {})", op, r->kind_name(), Object::make(k)->kind_name()));
    return r;
  }

  std::vector<std::int64_t> ints(const Ref& r, const char* what) const {
    if (r->kind != Object::Kind::tuple && r->kind != Object::Kind::list) fail(fmt::format("{} is not a tuple", what));
    std::vector<std::int64_t> out;
    for (const auto& i : r->items) out.push_back(expect(i, Object::Kind::integer, what)->integer);
    return out;
  }

  // ('storage', <storage class>, key, location, numel): the tensor data record data/<key>.
  Ref persistent(const Object& id) {
    if (id.items.size() < 5 || id.items[0]->text != "storage" || id.items[1]->kind != Object::Kind::global)
      fail("a persistent id that is not ('storage', class, key, location, numel)");
    const auto dtype = storage_dtype(id.items[1]->text);
    if (dtype == at::ScalarType::Undefined) fail(fmt::format("storage class {} is not supported", id.items[1]->text));
    const std::string key = expect(id.items[2], Object::Kind::string, "storage key")->text;
    auto& storage = storages_[key];
    if (!storage) {
      storage = Object::make(Object::Kind::storage);
      storage->tensor = load_(dtype, key, expect(id.items[4], Object::Kind::integer, "storage size")->integer);
    }
    return storage;
  }

  Ref reduce(const Object& callable, const Object& args) {
    if (callable.kind != Object::Kind::global) fail(fmt::format("REDUCE calls {}", callable.kind_name()));
    const std::string& name = callable.text;
    if (name == "collections.OrderedDict") {
      auto dict = Object::make(Object::Kind::dict);
      if (!args.items.empty())  // OrderedDict([(k, v), ...])
        for (const auto& pair : args.items[0]->items)
          if (pair->items.size() == 2) dict->entries.emplace_back(pair->items[0], pair->items[1]);
      return dict;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
      if (args.items.size() < 4) fail(fmt::format("{} with {} arguments", name, args.items.size()));
      const auto& storage = expect(args.items[0], Object::Kind::storage, name.c_str())->tensor;
      const auto offset = expect(args.items[1], Object::Kind::integer, "storage offset")->integer;
      const auto size = ints(args.items[2], "tensor size");
      const auto stride = ints(args.items[3], "tensor stride");
      if (size.size() != stride.size()) fail("a tensor whose size and stride differ in length");
      std::int64_t last = offset;  // the furthest element the view reaches must lie in its storage
      bool empty = false;
      for (std::size_t i = 0; i < size.size(); ++i) {
        if (size[i] < 0 || stride[i] < 0) fail("a tensor with a negative size or stride");
        empty = empty || size[i] == 0;
        last += (size[i] - 1) * stride[i];
      }
      if (offset < 0 || (!empty && last >= storage.numel()))
        fail(fmt::format("a tensor of size [{}] reaches past its storage of {} elements", fmt::join(size, ", "),
                         storage.numel()));
      auto t = Object::make(Object::Kind::tensor);
      t->tensor = storage.as_strided(size, stride, offset);
      return t;
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (args.items.empty()) fail(fmt::format("{} with no arguments", name));
      return expect(args.items[0], Object::Kind::tensor, name.c_str());
    }
    fail(fmt::format("it calls {}, which kiln does not run (it reads dicts of tensors, as torch.load's "
                     "weights_only mode does)", name));
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  std::string where_;
  StorageLoader load_;
  std::vector<Ref> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Ref> memo_;
  std::unordered_map<std::string, Ref> storages_;
};

}  // namespace kiln::detail::pickle
