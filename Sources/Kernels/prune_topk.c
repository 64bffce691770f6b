/* N:M selection with the reference implementations' tie order.
 *
 * The Wanda / SparseGPT reference code picks the weights to prune in each group with
 * `torch.topk(group, prune, largest=False)`. On CPU, torch fills (value, index) pairs in column
 * order and, for groups this small (prune * 64 > m), runs libstdc++'s `std::nth_element` on them
 * with a comparator that looks at the value only (NaN counts as largest); the first `prune` slots
 * afterwards are the selection. With equal values the outcome is therefore neither "lower column
 * first" nor random: it is whatever that introselect's median-of-three pivot, Hoare partition and
 * final insertion sort leave in front, a pure function of the group's values. This file performs
 * the same steps on a copy of each group, so equal scores resolve exactly as in the reference.
 * For prune * 64 <= m (only 1 of 64 here) torch uses `std::partial_sort`, whose heap selection
 * keeps the first of equal minima. Scalar code: the groups are tiny and the steps branchy. */
#include "kernels_prune.h"

typedef struct {
    float value;
    uint32_t column;
} ranked;

/* torch's comparator for largest = false: x before y when x < y, NaN after every number. */
static inline int before(ranked x, ranked y) {
    return (x.value == x.value && y.value != y.value) || x.value < y.value;
}

static inline void swap_ranked(ranked *a, ranked *b) {
    ranked t = *a;
    *a = *b;
    *b = t;
}

/* Heap helpers on q[0..len) with `before` as the "less" of a max-heap (the C++ library's layout:
 * children of i at 2i+1 and 2i+2, sifting the hole down to a leaf, then the value back up). */
static void sift(ranked *q, size_t hole, size_t len, ranked value) {
    const size_t top = hole;
    size_t child = hole;
    while (child < (len - 1) / 2) {
        child = 2 * (child + 1);
        if (before(q[child], q[child - 1])) child--;
        q[hole] = q[child];
        hole = child;
    }
    if ((len & 1) == 0 && child == (len - 2) / 2) {
        child = 2 * (child + 1);
        q[hole] = q[child - 1];
        hole = child - 1;
    }
    size_t parent = (hole - 1) / 2;
    while (hole > top && before(q[parent], value)) {
        q[hole] = q[parent];
        hole = parent;
        parent = (hole - 1) / 2;
    }
    q[hole] = value;
}

/* Leaves the `k` smallest of q[0..n) in q[0..k) as the library's heap selection does. */
static void heap_select(ranked *q, size_t k, size_t n) {
    if (k > 1) {
        for (size_t parent = (k - 2) / 2;; parent--) {
            sift(q, parent, k, q[parent]);
            if (parent == 0) break;
        }
    }
    for (size_t i = k; i < n; i++) {
        if (before(q[i], q[0])) {
            ranked value = q[i];
            q[i] = q[0];
            sift(q, 0, k, value);
        }
    }
}

/* Introselect for position `nth` of q[0..n): rounds of median-of-three pivot and unguarded
 * partition while more than 3 elements remain (heap selection once the depth budget of
 * 2·floor(log2 n) rounds is spent), then insertion sort of what is left. */
static void nth_smallest(ranked *q, size_t n, size_t nth) {
    size_t first = 0, last = n;
    int depth = 0;
    for (size_t s = n; s > 1; s >>= 1) depth += 2;
    while (last - first > 3) {
        if (depth == 0) {
            heap_select(q + first, nth - first + 1, last - first);
            swap_ranked(&q[first], &q[nth]);
            return;
        }
        depth--;
        /* The median of q[first+1], q[mid], q[last-1] moves to q[first] as the pivot. */
        size_t a = first + 1, b = first + (last - first) / 2, c = last - 1, median;
        if (before(q[a], q[b])) median = before(q[b], q[c]) ? b : (before(q[a], q[c]) ? c : a);
        else median = before(q[a], q[c]) ? a : (before(q[b], q[c]) ? c : b);
        swap_ranked(&q[first], &q[median]);
        size_t lo = first + 1, hi = last;
        for (;;) {
            while (before(q[lo], q[first])) lo++;
            hi--;
            while (before(q[first], q[hi])) hi--;
            if (lo >= hi) break;
            swap_ranked(&q[lo], &q[hi]);
            lo++;
        }
        if (lo <= nth) first = lo;
        else last = lo;
    }
    for (size_t i = first + 1; i < last; i++) {
        ranked value = q[i];
        size_t j = i;
        if (before(value, q[first])) {
            for (; j > first; j--) q[j] = q[j - 1];
        } else {
            for (; before(value, q[j - 1]); j--) q[j] = q[j - 1];
        }
        q[j] = value;
    }
}

void shears_prune_select_groups_topk(const float *scores, size_t rows, size_t cols, size_t prune, size_t m,
                                     uint8_t *mask) {
    ranked q[64];
    for (size_t r = 0; r < rows; r++) {
        for (size_t g = 0; g + m <= cols; g += m) {
            const float *s = scores + r * cols + g;
            uint8_t *out = mask + r * cols + g;
            for (size_t j = 0; j < m; j++) {
                out[j] = 0;
                q[j] = (ranked){s[j], (uint32_t)j};
            }
            if (prune == 0) continue;
            if (prune * 64 <= m) heap_select(q, prune, m);
            else nth_smallest(q, m, prune - 1);
            for (size_t j = 0; j < prune; j++) out[q[j].column] = 1;
        }
    }
}
