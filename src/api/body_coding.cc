#include "api/body_coding.h"

#include <optional>
#include <utility>

namespace qs::api {
namespace {

int LevelOf(Encoding coding) {
  return coding == Encoding::kGzip ? kGzipLevel : kZstdLevel;
}

}  // namespace

CodedBody RenderCodedBody(const StatusView& v, const store::StatusSnapshot& s,
                          Encoding accepted) {
  CodedBody out;
  if (accepted == Encoding::kIdentity) {
    RenderStatusBody(v, &out.bytes);
    out.identity_size = out.bytes.size();
    return out;
  }
  std::string head;
  RenderStatusHead(v.request_id, &head);
  // The tail, when this call rendered it: the size memo and the
  // compression of a snapshot's first encoded answer share one rendering.
  std::string tail;
  size_t tail_size = s.tail_size.Get([&] {
    RenderStatusTail(v, &tail);
    return tail.size();
  });
  out.identity_size = head.size() + tail_size;
  if (out.identity_size >= kMinCodedBodyBytes) {
    const Memo<std::optional<CompressedTail>>& memo =
        accepted == Encoding::kGzip ? s.gzip_tail : s.zstd_tail;
    const std::optional<CompressedTail>& compressed = memo.Get([&] {
      if (tail.empty()) RenderStatusTail(v, &tail);
      Result<CompressedTail> r =
          CompressTail(accepted, tail, LevelOf(accepted));
      if (!r.ok()) return std::optional<CompressedTail>();
      out.compressed = true;
      return std::optional<CompressedTail>(std::move(r).value());
    });
    if (compressed) {
      out.coding = accepted;
      out.bytes = JoinHead(head, *compressed);
      return out;
    }
  }
  // Too small to be worth it, or the tail could not be compressed.
  if (!tail.empty()) {
    out.bytes = std::move(head);
    out.bytes += tail;
  } else {
    RenderStatusBody(v, &out.bytes);
  }
  return out;
}

}  // namespace qs::api
