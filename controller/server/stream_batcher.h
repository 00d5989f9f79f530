#ifndef FERRY_CONTROLLER_SERVER_STREAM_BATCHER_H_
#define FERRY_CONTROLLER_SERVER_STREAM_BATCHER_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <string>
#include <utility>

namespace ferry::controller {

// Messages of a batched stream (ListBatches, WatchBatches): items are added
// until 256 or about 1 MiB, then the batch is sent; Send sends what is
// there. 100k objects as one message each cost the server seconds.
template <typename BatchT>
class StreamBatcher {
 public:
  explicit StreamBatcher(grpc::ServerWriter<BatchT>* writer) : writer_(writer) {}

  // Adds `item` to the batch through `slot` (the batch's add_...); false
  // once the client is gone.
  template <typename ItemT, typename SlotFn>
  bool Add(ItemT item, SlotFn slot) {
    bytes_ += item.ByteSizeLong();
    *slot(&batch_) = std::move(item);
    if (++count_ < kMaxItems && bytes_ < kMaxBytes) return true;
    return Send();
  }

  // Adds an item already encoded as field `number` of the batch. A batch
  // takes either encoded items or Add's, never both: unknown fields are
  // written after known ones, which would reorder them.
  bool AddEncoded(int number, std::string item) {
    bytes_ += item.size();
    batch_.GetReflection()->MutableUnknownFields(&batch_)->AddLengthDelimited(number)->swap(item);
    if (++count_ < kMaxItems && bytes_ < kMaxBytes) return true;
    return Send();
  }

  bool Send() {
    if (count_ == 0) return true;
    const bool sent = writer_->Write(batch_);
    batch_.Clear();
    count_ = 0;
    bytes_ = 0;
    return sent;
  }

 private:
  static constexpr int kMaxItems = 256;
  static constexpr size_t kMaxBytes = 1 << 20;

  grpc::ServerWriter<BatchT>* const writer_;
  BatchT batch_;
  int count_ = 0;
  size_t bytes_ = 0;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_STREAM_BATCHER_H_
