// Reference matmul / embedding gather: dequantize each weight row, dot in double.
#include <vector>

#include "kernels/quant/quant.h"
#include "kernels/ref/ref.h"

namespace nlm::kernels::ref {

void matmul(const float* x, int64_t M, const TensorView& w, const float* bias, float* y, int64_t ldx,
            int64_t ldy) {
  const int64_t N = w.rows(), K = w.cols();
  if (ldx == 0) ldx = K;
  if (ldy == 0) ldy = N;
  std::vector<float> row(K);
  for (int64_t n = 0; n < N; ++n) {
    quant::dequantize(w.row<const char>(n), w.dtype, K, row.data());
    for (int64_t m = 0; m < M; ++m) {
      double acc = bias ? bias[n] : 0.0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(x[m * ldx + k]) * row[k];
      y[m * ldy + n] = static_cast<float>(acc);
    }
  }
}

void embed_rows(const TensorView& table, const int32_t* ids, int64_t n, float* out, int64_t ld_out) {
  const int64_t D = table.cols();
  if (ld_out == 0) ld_out = D;
  for (int64_t i = 0; i < n; ++i) quant::dequantize(table.row<const char>(ids[i]), table.dtype, D, out + i * ld_out);
}

}  // namespace nlm::kernels::ref
