// SPDX-License-Identifier: GPL-2.0-only
/*
 * iopt_pages: a range of user memory, pinned only while something needs it.
 *
 * IOMMU_IOAS_MAP turns a user VA range into a struct iopt_pages and pins
 * nothing: the memory is not even looked at until a holder asks for it.
 * Holders are the areas of an IOAS that has a paging domain (their pages
 * must be in the IOMMU) and the pins of in-kernel accesses. Each holder
 * registers the span of page indices it needs (iopt_pages_pin()); COPY
 * shares the pages object, so its areas are holders of the same pages.
 *
 * A page is pinned (FOLL_LONGTERM) and charged exactly once, however many
 * holders cover it: pinning a span pins only what no other holder covers,
 * and dropping one unpins only what no other holder still covers. What is
 * pinned is therefore always the union of the holders' spans, and so is
 * what is charged:
 *
 *   every pinned page counts in the mm's pinned_vm (VmPin); on top of that
 *   a USER-mode object charges the user's locked_vm against RLIMIT_MEMLOCK
 *   and an MM-mode object (VFIO type1 compatible) the mm's locked_vm (VmLck)
 *   against the same limit; a NONE-mode object, made by a caller with
 *   CAP_IPC_LOCK, charges neither. The mode is fixed when the object is
 *   made, from the caller's capability and the file's RLIMIT_MODE.
 *
 * The pinned memory is kept as segments: one per range pinned in one pass,
 * in an interval tree, together exactly covering the pinned pages. A
 * segment shows a window of a run buffer, which stores runs of physically
 * contiguous pages in page-sized chunks, the last trimmed: a run costs
 * twelve bytes however long it is, a lone page four, each run reaches
 * iommu_map() whole, and the memory follows what was pinned, never the
 * length userspace asked for. Unpinning the middle of a segment splits it
 * in two windows of the same buffer.
 *
 * The memory is a range of the creating process's address space, or a
 * range of a memfd (IOMMU_IOAS_MAP_FILE), which needs no address space:
 * its pages are found by file offset and pinned with memfd_pin_folios(),
 * and each folio goes into the run buffer as one run, never as its pages.
 * A folio is pinned once however many of its pages are asked for, while
 * holders come and go page by page; so a file-backed object counts, per
 * large folio, the pinned pages that use it (@file_pins) and holds one pin
 * of the folio while the count is not zero. A small folio needs no count:
 * its one pin is its page's, and runs of small folios are unpinned at once.
 *
 * Locking: the pages mutex protects the holders, the segments and the
 * charge; it nests inside the io_pagetable's iova_rwsem and outside the
 * mm's mmap_lock. The object lives as long as an area refers to it.
 */
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/user.h>
#include <linux/highmem.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "iommufd_private.h"

/* Pages pinned per GUP call (folios per memfd call): one page of pointers */
#define PAGES_PIN_BATCH		(PAGE_SIZE / sizeof(struct page *))
/* A segment this short pins with a batch on the stack */
#define PAGES_PIN_SMALL_BATCH	16

/*
 * A run buffer holds the runs of physically contiguous pages one pinning
 * pass found, for pages [chunks[0].first, end), as a stream of 32-bit words
 * in page-sized chunks. A run of one page whose pfn fits in 31 bits takes
 * one word, pfn << 1; any other run takes three: npages << 1 | 1, then the
 * low and the high half of its pfn. A run starts where the one before it
 * ends, so fragmented memory costs four bytes a page and contiguous memory
 * twelve bytes a run. Runs are read in order with a cursor; seeking finds
 * the chunk by its first page, then steps through it.
 */
#define RUN_CHUNK_WORDS		(PAGE_SIZE / sizeof(u32))
#define RUN_MAX_WORDS		3
#define RUN_MAX_PAGES		(U32_MAX >> 1)
#define RUN_SHORT_MAX_PFN	(U32_MAX >> 1)

struct iopt_run_chunk {
	u32 *words;
	unsigned long first;	/* first page of its first run */
	unsigned int used;	/* words written */
};

/* Never changed once built; shared by the segments that show parts of it */
struct iopt_run_buf {
	refcount_t users;
	unsigned long end;	/* one past the last page, open run included */
	struct iopt_run_chunk *chunks;	/* @first until a second is needed */
	unsigned long nchunks;	/* chunks holding runs */
	unsigned long nalloc;	/* chunks with words, for runs to come */
	unsigned long slots;	/* room in @chunks */
	/* The last run while pinning goes on: it may still grow */
	unsigned long open_pfn;
	unsigned long open_pages;
	struct iopt_run_chunk first;
};

/* One run of a run buffer, and where it is */
struct run_cursor {
	struct iopt_run_buf *buf;
	struct iopt_run_chunk *chunk;
	const u32 *w;		/* its first word */
	const u32 *next;	/* the next run's */
	unsigned long index;	/* its first page */
	unsigned long pfn;
	unsigned long npages;
};

/* Pinned pages [node.start, node.last], whose pfns @buf holds */
struct iopt_segment {
	struct interval_tree_node node;
	struct iopt_run_buf *buf;
};

static unsigned long pages_pin_batch(void)
{
#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
	unsigned int test_batch = READ_ONCE(iommufd_test_pin_batch);

	if (test_batch)
		return min_t(unsigned long, test_batch, PAGES_PIN_BATCH);
#endif
	return PAGES_PIN_BATCH;
}

/* ---- Charging ---- */

static int pages_charge_user(struct iopt_pages *pages, unsigned long npages)
{
	unsigned long limit = task_rlimit(pages->task, RLIMIT_MEMLOCK) >>
			      PAGE_SHIFT;
	unsigned long cur = atomic_long_read(&pages->user->locked_vm);
	unsigned long want;

	do {
		if (check_add_overflow(cur, npages, &want) || want > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&pages->user->locked_vm, &cur,
					  want));
	return 0;
}

/* The mm's locked_vm, as VFIO type1 charges it; needs the mm alive */
static int pages_charge_mm(struct iopt_pages *pages, unsigned long npages,
			   bool inc)
{
	int rc;

	if (!mmget_not_zero(pages->mm))
		return -EINVAL;
	mmap_write_lock(pages->mm);
	rc = __account_locked_vm(pages->mm, npages, inc, pages->task, false);
	mmap_write_unlock(pages->mm);
	mmput(pages->mm);
	return rc;
}

static int pages_charge(struct iopt_pages *pages, unsigned long npages)
{
	int rc = 0;

	if (!npages)
		return 0;
	if (iommufd_should_fail())
		return -ENOMEM;
	if (pages->account == IOPT_ACCOUNT_USER)
		rc = pages_charge_user(pages, npages);
	else if (pages->account == IOPT_ACCOUNT_MM)
		rc = pages_charge_mm(pages, npages, true);
	if (rc)
		return rc;
	atomic64_add(npages, &pages->mm->pinned_vm);
	return 0;
}

static void pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	if (!npages)
		return;
	if (pages->account == IOPT_ACCOUNT_USER)
		atomic_long_sub(npages, &pages->user->locked_vm);
	else if (pages->account == IOPT_ACCOUNT_MM)
		/* An mm that is gone has no locked_vm left to fix */
		pages_charge_mm(pages, npages, false);
	atomic64_sub(npages, &pages->mm->pinned_vm);
}

/* ---- Run buffers ---- */

static __always_inline void cursor_load(struct run_cursor *cur)
{
	const u32 *w = cur->w;

	if (!(w[0] & 1)) {
		cur->pfn = w[0] >> 1;
		cur->npages = 1;
		cur->next = w + 1;
	} else {
		cur->pfn = (u64)w[2] << 32 | w[1];
		cur->npages = w[0] >> 1;
		cur->next = w + 3;
	}
}

/* Moves to the next run; false past the last one */
static __always_inline bool cursor_next(struct run_cursor *cur)
{
	cur->index += cur->npages;
	if (cur->index == cur->buf->end)
		return false;
	cur->w = cur->next;
	if (cur->w == cur->chunk->words + cur->chunk->used) {
		cur->chunk++;
		cur->w = cur->chunk->words;
	}
	cursor_load(cur);
	return true;
}

/* Points @cur at the run of @buf that holds page @index */
static __always_inline void cursor_seek(struct run_cursor *cur,
					struct iopt_run_buf *buf,
					unsigned long index)
{
	unsigned long lo = 0, hi = buf->nchunks - 1;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo + 1) / 2;

		if (buf->chunks[mid].first <= index)
			lo = mid;
		else
			hi = mid - 1;
	}
	cur->buf = buf;
	cur->chunk = &buf->chunks[lo];
	cur->w = cur->chunk->words;
	cur->index = cur->chunk->first;
	cursor_load(cur);
	while (index >= cur->index + cur->npages)
		cursor_next(cur);
}

/* The page at @index in the run under @cur */
static struct page *cursor_page(struct run_cursor *cur, unsigned long index)
{
	return pfn_to_page(cur->pfn + (index - cur->index));
}

static void buf_put(struct iopt_run_buf *buf)
{
	unsigned long i;

	if (!refcount_dec_and_test(&buf->users))
		return;
	for (i = 0; i != buf->nalloc; i++)
		kfree(buf->chunks[i].words);
	if (buf->chunks != &buf->first)
		kvfree(buf->chunks);
	kfree(buf);
}

/*
 * Room for @n more runs and the open one. A chunk holds at least
 * RUN_CHUNK_WORDS / RUN_MAX_WORDS runs: a run never spans two chunks.
 */
static int buf_reserve(struct iopt_run_buf *buf, unsigned long n)
{
	const unsigned long per_chunk = RUN_CHUNK_WORDS / RUN_MAX_WORDS;
	unsigned long room = (buf->nalloc - buf->nchunks) * per_chunk;

	if (iommufd_should_fail())
		return -ENOMEM;
	if (buf->nchunks)
		room += (RUN_CHUNK_WORDS - buf->chunks[buf->nchunks - 1].used) /
			RUN_MAX_WORDS;
	while (room < n + 1) {
		if (buf->nalloc == buf->slots) {
			unsigned long slots = max(4UL, 2 * buf->slots);
			struct iopt_run_chunk *chunks;

			chunks = kvcalloc(slots, sizeof(*chunks),
					  GFP_KERNEL_ACCOUNT);
			if (!chunks)
				return -ENOMEM;
			memcpy(chunks, buf->chunks,
			       buf->nalloc * sizeof(*chunks));
			if (buf->chunks != &buf->first)
				kvfree(buf->chunks);
			buf->chunks = chunks;
			buf->slots = slots;
		}
		buf->chunks[buf->nalloc].words = kmalloc(PAGE_SIZE,
							 GFP_KERNEL_ACCOUNT);
		if (!buf->chunks[buf->nalloc].words)
			return -ENOMEM;
		buf->nalloc++;
		room += per_chunk;
	}
	return 0;
}

/* The words a run takes */
static __always_inline unsigned int run_words(unsigned long pfn,
					      unsigned long npages)
{
	return npages == 1 && pfn <= RUN_SHORT_MAX_PFN ? 1 : RUN_MAX_WORDS;
}

/* Writes a run of run_words() words at @w */
static __always_inline void run_encode(u32 *w, unsigned long pfn,
				       unsigned long npages)
{
	if (run_words(pfn, npages) == 1) {
		w[0] = pfn << 1;
	} else {
		w[0] = npages << 1 | 1;
		w[1] = lower_32_bits(pfn);
		w[2] = upper_32_bits(pfn);
	}
}

/*
 * The chunk the next run of @need words goes into, whose first page is
 * @index: the last chunk if it has room, else the next reserved one.
 */
static __always_inline struct iopt_run_chunk *
buf_chunk_for(struct iopt_run_buf *buf, unsigned int need, unsigned long index)
{
	struct iopt_run_chunk *chunk;

	if (buf->nchunks) {
		chunk = &buf->chunks[buf->nchunks - 1];
		if (chunk->used + need <= RUN_CHUNK_WORDS)
			return chunk;
	}
	chunk = &buf->chunks[buf->nchunks++];
	chunk->first = index;
	chunk->used = 0;
	return chunk;
}

/* Writes the open run into the chunks; buf_reserve() made room */
static __always_inline void buf_close_run(struct iopt_run_buf *buf)
{
	unsigned long pfn = buf->open_pfn, npages = buf->open_pages;
	unsigned int need = run_words(pfn, npages);
	struct iopt_run_chunk *chunk;

	if (!npages)
		return;
	chunk = buf_chunk_for(buf, need, buf->end - npages);
	run_encode(&chunk->words[chunk->used], pfn, npages);
	chunk->used += need;
	buf->open_pages = 0;
}

/*
 * Appends @n physically contiguous pages from @pfn on, which follow
 * @buf->end: they grow the open run or close it and open another, which
 * needs the room buf_reserve() made for one more run.
 */
static void buf_append(struct iopt_run_buf *buf, unsigned long pfn,
		       unsigned long n)
{
	while (n) {
		unsigned long take;

		if (!buf->open_pages ||
		    pfn != buf->open_pfn + buf->open_pages ||
		    buf->open_pages == RUN_MAX_PAGES) {
			buf_close_run(buf);
			buf->open_pfn = pfn;
		}
		take = min(n, RUN_MAX_PAGES - buf->open_pages);
		buf->open_pages += take;
		buf->end += take;
		pfn += take;
		n -= take;
	}
}

/* Whether @p[0..7] are the eight pages from @page on in the memory map */
static __always_inline bool batch_eight_follow(struct page **p,
					       struct page *page)
{
	unsigned long diff;

	/* One branch for the eight: no early exit per page */
	diff = (unsigned long)p[0] ^ (unsigned long)page;
	diff |= (unsigned long)p[1] ^ (unsigned long)nth_page(page, 1);
	diff |= (unsigned long)p[2] ^ (unsigned long)nth_page(page, 2);
	diff |= (unsigned long)p[3] ^ (unsigned long)nth_page(page, 3);
	diff |= (unsigned long)p[4] ^ (unsigned long)nth_page(page, 4);
	diff |= (unsigned long)p[5] ^ (unsigned long)nth_page(page, 5);
	diff |= (unsigned long)p[6] ^ (unsigned long)nth_page(page, 6);
	diff |= (unsigned long)p[7] ^ (unsigned long)nth_page(page, 7);
	return !diff;
}

/*
 * How many pages from @batch[0] on, of @n, follow each other in the memory
 * map. Huge pages arrive as hundreds of such pages: past the first eight
 * the test goes eight at a time.
 */
static __always_inline unsigned long batch_run(struct page **batch,
					       unsigned long n)
{
	struct page *first = batch[0];
	unsigned long len = 1;

	while (len != n && batch[len] == nth_page(first, len)) {
		if (++len != 8)
			continue;
		while (len + 8 <= n &&
		       batch_eight_follow(batch + len, nth_page(first, len)))
			len += 8;
	}
	return len;
}

/*
 * Appends a batch of @n pinned pages; there is room for @n runs. The first
 * run may continue the open one; the last stays open. Those in between are
 * written as they are found, from locals: fragmented memory is a run per
 * page, and this is its loop.
 */
static void buf_append_pages(struct iopt_run_buf *buf, struct page **batch,
			     unsigned long n)
{
	unsigned long i = batch_run(batch, n), index, pfn, len;
	struct iopt_run_chunk *chunk;
	u32 *w, *w_end;

	buf_append(buf, page_to_pfn(batch[0]), i);
	if (i == n)
		return;
	buf_close_run(buf);
	chunk = &buf->chunks[buf->nchunks - 1];
	w = &chunk->words[chunk->used];
	w_end = &chunk->words[RUN_CHUNK_WORDS];
	index = buf->end;
	for (;;) {
		unsigned int need;

		/* A batch is far shorter than RUN_MAX_PAGES */
		len = batch_run(batch + i, n - i);
		pfn = page_to_pfn(batch[i]);
		i += len;
		if (i == n)
			break;
		need = run_words(pfn, len);
		if (w + need > w_end) {
			chunk->used = w - chunk->words;
			chunk = buf_chunk_for(buf, need, index);
			w = chunk->words;
			w_end = &chunk->words[RUN_CHUNK_WORDS];
		}
		run_encode(w, pfn, len);
		w += need;
		index += len;
	}
	chunk->used = w - chunk->words;
	buf->open_pfn = pfn;
	buf->open_pages = len;
	buf->end = index + len;
}

/*
 * Ends the building of @buf: closes its open run and gives back what the
 * chunks hold beyond the runs. Failing to shrink the last chunk only
 * wastes.
 */
static void buf_seal(struct iopt_run_buf *buf)
{
	struct iopt_run_chunk *last;
	u32 *words;

	buf_close_run(buf);
	for (; buf->nalloc > buf->nchunks; buf->nalloc--)
		kfree(buf->chunks[buf->nalloc - 1].words);
	last = &buf->chunks[buf->nchunks - 1];
	if (last->used == RUN_CHUNK_WORDS)
		return;
	/* krealloc() keeps the block it has: copy */
	words = kmemdup(last->words, last->used * sizeof(u32),
			GFP_KERNEL_ACCOUNT);
	if (!words)
		return;
	kfree(last->words);
	last->words = words;
}

/* ---- Folio pins of file-backed pages ---- */

/*
 * @n more pinned pages use @folio, which the caller has just pinned once
 * more: the folio keeps one pin for all of them.
 */
static int file_pins_add(struct iopt_pages *pages, struct folio *folio,
			 unsigned long n)
{
	void *old = xa_load(&pages->file_pins, folio->index);
	unsigned long count = old ? xa_to_value(old) : 0;
	int rc;

	rc = xa_err(xa_store(&pages->file_pins, folio->index,
			     xa_mk_value(count + n), GFP_KERNEL_ACCOUNT));
	if (rc)
		return rc;
	if (count)
		unpin_folio(folio);
	return 0;
}

/* @n pinned pages that use @page's folio are unpinned */
static void file_pins_sub(struct iopt_pages *pages, struct page *page,
			  unsigned long n, bool dirty)
{
	struct folio *folio = page_folio(page);
	unsigned long count;

	count = xa_to_value(xa_load(&pages->file_pins, folio->index)) - n;
	if (count) {
		/* The slot exists: replacing its value allocates nothing */
		xa_store(&pages->file_pins, folio->index, xa_mk_value(count),
			 GFP_NOWAIT);
		return;
	}
	xa_erase(&pages->file_pins, folio->index);
	unpin_user_page_range_dirty_lock(&folio->page, 1, dirty);
}

/* Unpins @n pages from @page on, which are physically contiguous */
static void pages_unpin_pfns(struct iopt_pages *pages, struct page *page,
			     unsigned long n, bool dirty)
{
	if (!pages->file) {
		unpin_user_page_range_dirty_lock(page, n, dirty);
		return;
	}
	while (n) {
		struct folio *folio = page_folio(page);
		unsigned long len = 1;

		if (folio_test_large(folio)) {
			len = min_t(unsigned long, n, folio_nr_pages(folio) -
				    folio_page_idx(folio, page));
			file_pins_sub(pages, page, len, dirty);
		} else {
			/* Small folios hold a pin each: drop a run at once */
			while (len != n && !folio_test_large(page_folio(page + len)))
				len++;
			unpin_user_page_range_dirty_lock(page, len, dirty);
		}
		page += len;
		n -= len;
	}
}

/* Unpins pages [first, last] of @buf, which belongs to @pages */
static void buf_unpin(struct iopt_pages *pages, struct iopt_run_buf *buf,
		      unsigned long first, unsigned long last, bool dirty)
{
	struct run_cursor cur;
	unsigned long index = first, done = 0;

	cursor_seek(&cur, buf, first);
	do {
		unsigned long n = min(last + 1, cur.index + cur.npages) - index;

		pages_unpin_pfns(pages, cursor_page(&cur, index), n, dirty);
		index += n;
		/* Fragmented memory is a run per page */
		done += n;
		if (done >= PAGES_PIN_BATCH) {
			done = 0;
			cond_resched();
		}
	} while (index <= last && cursor_next(&cur));
}

/* ---- Pinning ---- */

/*
 * Pins up to @n pages of the file that follow @buf->end, in at most
 * @max_folios folios, and appends them to @buf one run per folio: a large
 * folio is never taken apart into its pages. Returns how many pages were
 * appended, or an errno if none was; what is not appended is not pinned.
 */
static long pages_pin_file(struct iopt_pages *pages, struct iopt_run_buf *buf,
			   unsigned long n, struct folio **folios,
			   unsigned long max_folios)
{
	loff_t start = pages->uptr + (buf->end << PAGE_SHIFT);
	unsigned long done = 0;
	long nfolios, i;
	pgoff_t offset;
	int rc;

	nfolios = memfd_pin_folios(pages->file, start,
				   start + (n << PAGE_SHIFT) - 1, folios,
				   max_folios, &offset);
	if (nfolios <= 0)
		return nfolios ? nfolios : -EFAULT;
	rc = buf_reserve(buf, nfolios);
	offset >>= PAGE_SHIFT;
	for (i = 0; i != nfolios; i++) {
		struct folio *folio = folios[i];
		unsigned long take = min(folio_nr_pages(folio) - offset,
					 n - done);

		/* A small folio's one pin is its page's: nothing to count */
		if (!rc && folio_test_large(folio))
			rc = file_pins_add(pages, folio, take);
		if (rc) {
			/* Keep what is appended; drop the pins of the rest */
			unpin_folio(folio);
			continue;
		}
		buf_append(buf, folio_pfn(folio) + offset, take);
		done += take;
		offset = 0;
	}
	return done ? done : rc;
}

/*
 * Pins up to @n pages of the pages' mm that follow @buf->end and appends
 * them to @buf; the mm may not be current's (the caller then holds a
 * reference on it). Returns as pages_pin_file().
 */
static long pages_pin_user(struct iopt_pages *pages, struct iopt_run_buf *buf,
			   unsigned long n, struct page **batch)
{
	unsigned int flags = FOLL_LONGTERM |
			     (pages->writable ? FOLL_WRITE : 0);
	unsigned long addr = pages->uptr + (buf->end << PAGE_SHIFT);
	int locked = 1;
	long got;
	int rc;

	if (current->mm == pages->mm) {
		got = pin_user_pages_fast(addr, n, flags, batch);
	} else {
		mmap_read_lock(pages->mm);
		got = pin_user_pages_remote(pages->mm, addr, n, flags, batch,
					    &locked);
		if (locked)
			mmap_read_unlock(pages->mm);
	}
	if (got <= 0)
		return got ? got : -EFAULT;
	rc = buf_reserve(buf, got);
	if (rc) {
		unpin_user_pages(batch, got);
		return rc;
	}
	buf_append_pages(buf, batch, got);
	return got;
}

/*
 * Pins pages [first, last], which no segment covers, as a new segment. On
 * failure nothing is pinned.
 */
static int pages_pin_segment(struct iopt_pages *pages, unsigned long first,
			     unsigned long last)
{
	unsigned long batch_size = min(pages_pin_batch(), last - first + 1);
	bool remote = !pages->file && current->mm != pages->mm;
	/* Pages of an address space, or folios of a file */
	void *small_batch[PAGES_PIN_SMALL_BATCH], *batch = small_batch;
	struct iopt_segment *seg;
	struct iopt_run_buf *buf;
	int rc = -ENOMEM;

	if (remote && !mmget_not_zero(pages->mm))
		return -EFAULT;
	seg = kzalloc(sizeof(*seg), GFP_KERNEL_ACCOUNT);
	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (batch_size > ARRAY_SIZE(small_batch))
		batch = kmalloc_array(batch_size, sizeof(void *), GFP_KERNEL);
	if (buf) {
		refcount_set(&buf->users, 1);
		buf->end = first;
		buf->chunks = &buf->first;
		buf->slots = 1;
	}
	if (!seg || !buf || !batch)
		goto err_free;

	while (buf->end <= last) {
		unsigned long left = last - buf->end + 1;
		long got;

		if (iommufd_should_fail())
			got = -EFAULT;
		else if (pages->file)
			/* As many pages as @batch_size folios hold */
			got = pages_pin_file(pages, buf, left, batch,
					     batch_size);
		else
			got = pages_pin_user(pages, buf,
					     min(batch_size, left), batch);
		if (got <= 0) {
			rc = got ? got : -EFAULT;
			goto err_unpin;
		}
		cond_resched();
	}
	if (batch != small_batch)
		kfree(batch);
	if (remote)
		mmput(pages->mm);
	buf_seal(buf);
	seg->buf = buf;
	seg->node.start = first;
	seg->node.last = last;
	interval_tree_insert(&seg->node, &pages->segments);
	return 0;

err_unpin:
	if (buf->end != first) {
		buf_close_run(buf);
		buf_unpin(pages, buf, first, buf->end - 1, false);
	}
err_free:
	if (buf)
		buf_put(buf);
	if (batch != small_batch)
		kfree(batch);
	kfree(seg);
	if (remote)
		mmput(pages->mm);
	return rc;
}

/*
 * Unpins pages [first, last], which segments cover, and takes them out of
 * the segments: trimming, freeing or splitting them.
 */
static void pages_unpin_range(struct iopt_pages *pages, unsigned long first,
			      unsigned long last)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(&pages->segments, first,
						last))) {
		struct iopt_segment *seg =
			container_of(node, struct iopt_segment, node);
		unsigned long start = node->start, end = node->last;

		buf_unpin(pages, seg->buf, max(first, start), min(last, end),
			  pages->writable);
		interval_tree_remove(node, &pages->segments);
		if (first <= start && last >= end) {
			buf_put(seg->buf);
			kfree(seg);
			continue;
		}
		if (first > start && last < end) {
			/* A small allocation that must not fail an unpin */
			struct iopt_segment *right =
				kzalloc(sizeof(*right),
					GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);

			refcount_inc(&seg->buf->users);
			right->buf = seg->buf;
			right->node.start = last + 1;
			right->node.last = end;
			interval_tree_insert(&right->node, &pages->segments);
			node->last = first - 1;
		} else if (first <= start) {
			node->start = last + 1;
		} else {
			node->last = first - 1;
		}
		interval_tree_insert(node, &pages->segments);
	}
}

/**
 * iopt_pages_alloc() - describe a range of the caller's memory
 * @uptr: start of the user range, any byte
 * @length: bytes in the range, not 0
 * @writable: the range will be pinned for DMA writes too (FOLL_WRITE)
 * @mm_mode: the file charges pins as VFIO type1 does (IOMMU_OPTION
 *	RLIMIT_MODE 1)
 *
 * Pins nothing; the memory is not checked until a holder pins it.
 *
 * Context: Process context.
 * Return: the pages, held by the caller, or ERR_PTR: -EINVAL for a length
 * the IOMMU API cannot take, -EOVERFLOW if the range wraps, -ENOMEM.
 */
struct iopt_pages *iopt_pages_alloc(unsigned long uptr, unsigned long length,
				    bool writable, bool mm_mode)
{
	return iopt_pages_alloc_file(NULL, uptr, length, writable, mm_mode);
}

/**
 * iopt_pages_alloc_file() - describe a range of a memfd
 * @file: the memfd, or NULL for the caller's memory (iopt_pages_alloc())
 * @uptr: with @file, the byte offset of the range in the file; without,
 *	its user address
 * @length: bytes in the range, not 0
 * @writable: the range will be pinned for DMA writes too
 * @mm_mode: the file charges pins as VFIO type1 does
 *
 * Holds @file until the pages are freed. Pins nothing: the file is not
 * checked until a holder pins it (EINVAL then if it is not a shmem or
 * hugetlbfs file, or too short).
 *
 * Context: Process context.
 * Return: as iopt_pages_alloc().
 */
struct iopt_pages *iopt_pages_alloc_file(struct file *file,
					 unsigned long uptr,
					 unsigned long length, bool writable,
					 bool mm_mode)
{
	unsigned long start = ALIGN_DOWN(uptr, PAGE_SIZE);
	struct iopt_pages *pages;
	unsigned long end;

	if (!length || length > SIZE_MAX - PAGE_SIZE)
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(uptr, length, &end))
		return ERR_PTR(-EOVERFLOW);

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	pages->holders = RB_ROOT_CACHED;
	pages->segments = RB_ROOT_CACHED;
	xa_init_flags(&pages->file_pins, XA_FLAGS_ACCOUNT);
	if (file)
		pages->file = get_file(file);
	pages->uptr = start;
	pages->npages = DIV_ROUND_UP(end - start, PAGE_SIZE);
	pages->writable = writable;
	/* Whoever may lock memory freely is not charged for it */
	if (capable(CAP_IPC_LOCK))
		pages->account = IOPT_ACCOUNT_NONE;
	else
		pages->account = mm_mode ? IOPT_ACCOUNT_MM : IOPT_ACCOUNT_USER;
	pages->user = get_uid(current_user());
	pages->task = current->group_leader;
	get_task_struct(pages->task);
	mmgrab(current->mm);
	pages->mm = current->mm;
	return pages;
}

/* Whether what @pages pins is charged to someone else than the caller */
static bool pages_charged_elsewhere(struct iopt_pages *pages)
{
	return pages->mm != current->mm || pages->user != current_user();
}

/**
 * iopt_pages_change_process() - charge pinned pages to the caller
 * @set: the distinct pages objects to move, as xarray values
 *
 * Charges what each object pins to the calling process instead of the one
 * that made it (or last took it over), in the account mode it has, and
 * makes the caller its owner for later pins. All or nothing: the caller's
 * charges are taken first, in one go per mode, and nothing is uncharged
 * unless they all succeed.
 *
 * Context: Process context; the caller keeps every holder of these pages
 * out (it holds the iova_rwsem of every IOAS that can reach them).
 * Return: 0 or -ENOMEM (RLIMIT_MEMLOCK, or an injected failure).
 */
int iopt_pages_change_process(struct xarray *set)
{
	unsigned long total[IOPT_ACCOUNT_MM + 1] = {};
	struct iopt_pages me = {
		.user = current_user(),
		.task = current->group_leader,
		.mm = current->mm,
	};
	struct iopt_pages *pages;
	unsigned long index;
	int mode, rc = 0;

	xa_for_each(set, index, pages) {
		mutex_lock(&pages->mutex);
		if (pages_charged_elsewhere(pages))
			total[pages->account] += pages->npinned;
		mutex_unlock(&pages->mutex);
	}
	for (mode = 0; mode <= IOPT_ACCOUNT_MM; mode++) {
		me.account = mode;
		rc = pages_charge(&me, total[mode]);
		if (rc)
			break;
	}
	if (rc) {
		while (mode--) {
			me.account = mode;
			pages_uncharge(&me, total[mode]);
		}
		return rc;
	}

	xa_for_each(set, index, pages) {
		struct user_struct *old_user = pages->user;
		struct task_struct *old_task = pages->task;
		struct mm_struct *old_mm = pages->mm;

		mutex_lock(&pages->mutex);
		if (pages_charged_elsewhere(pages)) {
			pages_uncharge(pages, pages->npinned);
			pages->user = get_uid(me.user);
			get_task_struct(me.task);
			pages->task = me.task;
			mmgrab(me.mm);
			pages->mm = me.mm;
			free_uid(old_user);
			put_task_struct(old_task);
			mmdrop(old_mm);
		}
		mutex_unlock(&pages->mutex);
	}
	return 0;
}

static void iopt_pages_release(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	/* Every holder let go before its area went */
	WARN_ON(pages->npinned || !RB_EMPTY_ROOT(&pages->segments.rb_root) ||
		!xa_empty(&pages->file_pins));
	xa_destroy(&pages->file_pins);
	if (pages->file)
		fput(pages->file);
	mmdrop(pages->mm);
	put_task_struct(pages->task);
	free_uid(pages->user);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}

void iopt_pages_get(struct iopt_pages *pages)
{
	kref_get(&pages->kref);
}

void iopt_pages_put(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_pages_release);
}

/**
 * iopt_pages_pin() - make a holder of pinned pages
 * @pages: the pages
 * @holder: the holder's span node, start and last page index set
 *
 * Pins and charges the pages of the span that no other holder covers. The
 * pages of the span stay pinned until iopt_pages_unpin() of @holder.
 *
 * Context: Process context; takes the pages mutex, pins from the pages'
 * mm (which need not be current's).
 * Return: 0, -EFAULT if part of the range cannot be pinned (or the mm is
 * gone), -ENOMEM past RLIMIT_MEMLOCK or on allocation failure; on error
 * nothing changed.
 */
int iopt_pages_pin(struct iopt_pages *pages, struct interval_tree_node *holder)
{
	struct interval_tree_span_iter span;
	unsigned long new = 0;
	int rc;

	mutex_lock(&pages->mutex);
	interval_tree_for_each_span(&span, &pages->holders, holder->start,
				    holder->last)
		if (span.is_hole)
			new += span.last_hole - span.start_hole + 1;
	rc = pages_charge(pages, new);
	if (rc)
		goto out_unlock;

	interval_tree_for_each_span(&span, &pages->holders, holder->start,
				    holder->last) {
		if (!span.is_hole)
			continue;
		rc = pages_pin_segment(pages, span.start_hole, span.last_hole);
		if (rc)
			break;
	}
	if (rc) {
		/* Only the holes of this call have segments yet */
		interval_tree_for_each_span(&span, &pages->holders,
					    holder->start, holder->last) {
			if (span.is_hole)
				pages_unpin_range(pages, span.start_hole,
						  span.last_hole);
		}
		pages_uncharge(pages, new);
		goto out_unlock;
	}
	interval_tree_insert(holder, &pages->holders);
	pages->npinned += new;
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_pages_unpin() - drop a holder made by iopt_pages_pin()
 * @pages: the pages
 * @holder: the holder
 *
 * Unpins and uncharges the pages of the span no other holder covers.
 *
 * Context: Process context, may sleep. Takes the pages mutex.
 */
void iopt_pages_unpin(struct iopt_pages *pages,
		      struct interval_tree_node *holder)
{
	struct interval_tree_span_iter span;
	unsigned long released = 0;

	mutex_lock(&pages->mutex);
	interval_tree_remove(holder, &pages->holders);
	interval_tree_for_each_span(&span, &pages->holders, holder->start,
				    holder->last) {
		if (!span.is_hole)
			continue;
		pages_unpin_range(pages, span.start_hole, span.last_hole);
		released += span.last_hole - span.start_hole + 1;
	}
	pages->npinned -= released;
	pages_uncharge(pages, released);
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_pages_split_holder() - hand the tail of a holder's span to another
 * @pages: the pages
 * @holder: a holder made by iopt_pages_pin()
 * @tail: a new holder whose span, already set, is the end of @holder's:
 *        it starts after @holder's start and ends where @holder ends
 *
 * @holder keeps the part before @tail. The two spans cover exactly what
 * @holder covered, so nothing is pinned, unpinned or charged: this is how
 * an area that is cut in two (VFIO type1 unmap) keeps its pages.
 *
 * Context: Process context. Takes the pages mutex.
 */
void iopt_pages_split_holder(struct iopt_pages *pages,
			     struct interval_tree_node *holder,
			     struct interval_tree_node *tail)
{
	mutex_lock(&pages->mutex);
	interval_tree_remove(holder, &pages->holders);
	holder->last = tail->start - 1;
	interval_tree_insert(holder, &pages->holders);
	interval_tree_insert(tail, &pages->holders);
	mutex_unlock(&pages->mutex);
}

/* Chunks iopt_pages_walk_chunks() hands over at a time */
#define WALK_CHUNKS		16

/**
 * iopt_pages_walk_chunks() - walk pinned bytes as physically contiguous
 * chunks
 * @pages: the pages
 * @offset: first byte, relative to the page-aligned start of @pages
 * @length: bytes to walk; a holder of the caller covers them
 * @fn: called with up to WALK_CHUNKS chunks at a time, in ascending order;
 *      together they are the @length bytes
 * @arg: passed to @fn
 *
 * Context: Process context; takes the pages mutex around @fn.
 * Return: 0, or the first non-zero value @fn returned.
 */
int iopt_pages_walk_chunks(struct iopt_pages *pages, unsigned long offset,
			   unsigned long length, iopt_chunk_fn_t fn, void *arg)
{
	struct iopt_chunk chunks[WALK_CHUNKS];
	unsigned long end = offset + length;
	unsigned int n = 0;
	int rc = 0;

	mutex_lock(&pages->mutex);
	while (offset != end) {
		/* Each segment is searched once, then its runs are walked */
		struct interval_tree_node *node =
			interval_tree_iter_first(&pages->segments,
						 offset >> PAGE_SHIFT,
						 offset >> PAGE_SHIFT);
		unsigned long seg_end = min(end, (node->last + 1) << PAGE_SHIFT);
		struct run_cursor cur;

		cursor_seek(&cur, container_of(node, struct iopt_segment,
					       node)->buf,
			    offset >> PAGE_SHIFT);
		do {
			unsigned long stop = min(seg_end, (cur.index +
						 cur.npages) << PAGE_SHIFT);

			chunks[n].phys = PFN_PHYS(cur.pfn) + offset -
					 (cur.index << PAGE_SHIFT);
			chunks[n].length = stop - offset;
			offset = stop;
			if (++n == WALK_CHUNKS) {
				rc = fn(chunks, n, arg);
				if (rc)
					goto out;
				n = 0;
			}
		} while (offset != seg_end && cursor_next(&cur));
	}
	if (n)
		rc = fn(chunks, n, arg);
out:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_pages_fill() - the struct pages of pinned pages
 * @pages: the pages
 * @index: first page index; a holder of the caller covers the range
 * @n: number of pages
 * @out: receives @n page pointers
 *
 * Context: Process context; takes the pages mutex.
 */
void iopt_pages_fill(struct iopt_pages *pages, unsigned long index,
		     unsigned long n, struct page **out)
{
	struct interval_tree_node *node = NULL;
	struct run_cursor cur;
	unsigned long at;

	mutex_lock(&pages->mutex);
	for (at = index; at != index + n; at++) {
		if (!node || at > node->last) {
			node = interval_tree_iter_first(&pages->segments, at, at);
			cursor_seek(&cur, container_of(node, struct iopt_segment,
						       node)->buf, at);
		} else if (at == cur.index + cur.npages) {
			cursor_next(&cur);
		}
		*out++ = cursor_page(&cur, at);
	}
	mutex_unlock(&pages->mutex);
}

/* One page of the file, pinned once, for a copy */
static long pages_pin_file_page(struct iopt_pages *pages, unsigned long index,
				struct page **page)
{
	loff_t start = pages->uptr + (index << PAGE_SHIFT);
	struct folio *folio;
	pgoff_t offset;
	long got;

	got = memfd_pin_folios(pages->file, start, start + PAGE_SIZE - 1,
			       &folio, 1, &offset);
	if (got == 1)
		*page = folio_page(folio, offset >> PAGE_SHIFT);
	return got;
}

/* Copies within one page, pinned by a holder or pinned here for the copy */
static int pages_rw_page(struct iopt_pages *pages, unsigned long index,
			 unsigned long off, void *data, unsigned long len,
			 bool write)
{
	struct interval_tree_node *node;
	struct page *page;
	long got;

	mutex_lock(&pages->mutex);
	node = interval_tree_iter_first(&pages->segments, index, index);
	if (node) {
		struct run_cursor cur;

		cursor_seek(&cur, container_of(node, struct iopt_segment,
					       node)->buf, index);
		page = cursor_page(&cur, index);
		if (write)
			memcpy_to_page(page, off, data, len);
		else
			memcpy_from_page(data, page, off, len);
	}
	mutex_unlock(&pages->mutex);
	if (node)
		return 0;

	/* Not pinned by anyone: a short-term pin, charged to nobody */
	if (pages->file) {
		got = pages_pin_file_page(pages, index, &page);
	} else {
		if (!mmget_not_zero(pages->mm))
			return -EFAULT;
		mmap_read_lock(pages->mm);
		got = pin_user_pages_remote(pages->mm,
					    pages->uptr + (index << PAGE_SHIFT),
					    1, write ? FOLL_WRITE : 0, &page,
					    NULL);
		mmap_read_unlock(pages->mm);
		mmput(pages->mm);
	}
	if (got != 1)
		return got < 0 ? got : -EFAULT;
	if (write)
		memcpy_to_page(page, off, data, len);
	else
		memcpy_from_page(data, page, off, len);
	unpin_user_page_range_dirty_lock(page, 1, write);
	return 0;
}

/**
 * iopt_pages_rw() - copy between a kernel buffer and the pages' memory
 * @pages: the pages
 * @offset: first byte, relative to the page-aligned start of @pages
 * @data: the kernel buffer
 * @length: bytes to copy
 * @write: copy @data into the memory rather than out of it
 *
 * Pages a holder pinned are copied through that pin, so the copy reaches
 * what the IOMMU maps even if userspace has changed its mapping since;
 * others are pinned just for the copy and charged to nobody.
 *
 * Context: Process context or a kernel thread; takes the pages mutex and
 * the mm's mmap_lock.
 * Return: 0 or -EFAULT (the memory cannot be reached).
 */
int iopt_pages_rw(struct iopt_pages *pages, unsigned long offset, void *data,
		  unsigned long length, bool write)
{
	while (length) {
		unsigned long off = offset & (PAGE_SIZE - 1);
		unsigned long n = min(length, PAGE_SIZE - off);
		int rc;

		rc = pages_rw_page(pages, offset >> PAGE_SHIFT, off, data, n,
				   write);
		if (rc)
			return rc;
		data += n;
		offset += n;
		length -= n;
	}
	return 0;
}
