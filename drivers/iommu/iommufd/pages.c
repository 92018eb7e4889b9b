// SPDX-License-Identifier: GPL-2.0-only
/*
 * iopt_pages: a range of user memory, pinned and charged once.
 *
 * IOMMU_IOAS_MAP turns a user VA range into a struct iopt_pages before any
 * IOVA is chosen: the pages are pinned with FOLL_LONGTERM in batches and
 * charged to RLIMIT_MEMLOCK up front, so a map fails early (EFAULT, ENOMEM)
 * and never half way through filling domains.
 *
 * Areas use the pages as "users": each registers the span of page indices
 * it shows (IOMMU_IOAS_COPY adds users to the existing object instead of
 * pinning again). A page stays pinned, and charged, exactly as long as some
 * user's span covers it: removing a user unpins and uncharges the pages no
 * other user covers, so a copy of part of a mapping keeps only that part
 * once the original is unmapped. The charge goes back to the counter it
 * was taken from, whatever the file's mode is by then.
 *
 * The pinned memory is stored as runs of physically contiguous pages: one
 * (first index, first pfn) pair per run. Memory backed by large folios,
 * THP or hugetlbfs, therefore costs one entry per folio rather than one per
 * 4 KiB page, and each run reaches iommu_map() whole so the domain can use
 * its large IO page sizes. The runs live in page-sized chunks that are
 * added as pinning finds runs, the last one trimmed to fit: the memory
 * grows with what was really pinned, never with the length userspace
 * asked for, and peaks at most one chunk above what is kept.
 *
 * The runs never change once built, so walking them needs no lock while
 * the walker's own span keeps them pinned. The users tree and the pinned
 * count are protected by the pages mutex; the object lives as long as it
 * has users.
 */
#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "iommufd_private.h"

/* Pages pinned per pin_user_pages_fast() call: one page of pointers */
#define PAGES_PIN_BATCH	(PAGE_SIZE / sizeof(struct page *))

static unsigned long pages_pin_batch(void)
{
#if IS_ENABLED(CONFIG_IOMMUFD_TEST)
	unsigned int test_batch = READ_ONCE(iommufd_test_pin_batch);

	if (test_batch)
		return min_t(unsigned long, test_batch, PAGES_PIN_BATCH);
#endif
	return PAGES_PIN_BATCH;
}

/*
 * Charges @npages to the counter of the pages' account mode, refusing to go
 * past RLIMIT_MEMLOCK unless the caller may lock memory freely.
 */
static int pages_charge(struct iopt_pages *pages, unsigned long npages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	bool unlimited = capable(CAP_IPC_LOCK);
	unsigned long cur, want;

	if (pages->account_mode == IOMMUFD_ACCOUNT_MM) {
		atomic64_t *counter = &pages->mm->pinned_vm;
		s64 cur64 = atomic64_read(counter);

		do {
			if (!unlimited && cur64 + npages > limit)
				return -ENOMEM;
		} while (!atomic64_try_cmpxchg(counter, &cur64, cur64 + npages));
		return 0;
	}

	cur = atomic_long_read(&pages->user->locked_vm);
	do {
		if (check_add_overflow(cur, npages, &want) ||
		    (!unlimited && want > limit))
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&pages->user->locked_vm, &cur,
					  want));
	return 0;
}

static void pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	if (pages->account_mode == IOMMUFD_ACCOUNT_MM)
		atomic64_sub(npages, &pages->mm->pinned_vm);
	else
		atomic_long_sub(npages, &pages->user->locked_vm);
}

#define IOPT_RUNS_PER_CHUNK	(PAGE_SIZE / sizeof(struct iopt_pfn_run))

static struct iopt_pfn_run *pages_run(struct iopt_pages *pages,
				      unsigned long i)
{
	return &pages->run_chunks[i / IOPT_RUNS_PER_CHUNK]
				 [i % IOPT_RUNS_PER_CHUNK];
}

/* Number of pages in run @i */
static unsigned long run_npages(struct iopt_pages *pages, unsigned long i)
{
	unsigned long end = i + 1 < pages->nruns ?
				    pages_run(pages, i + 1)->index :
				    pages->npages;

	return end - pages_run(pages, i)->index;
}

/* Index of the run that holds page @index */
static unsigned long pages_find_run(struct iopt_pages *pages,
				    unsigned long index)
{
	unsigned long lo = 0, hi = pages->nruns - 1;

	while (lo < hi) {
		unsigned long mid = lo + (hi - lo + 1) / 2;

		if (pages_run(pages, mid)->index <= index)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void pages_free_runs(struct iopt_pages *pages)
{
	unsigned long i;

	for (i = 0; i != pages->nchunks; i++)
		kfree(pages->run_chunks[i]);
	kvfree(pages->run_chunks);
}

/*
 * Makes room for @n more runs: a new full chunk whenever the last one is
 * full, and a chunk table that doubles when it is.
 */
static int pages_reserve_runs(struct iopt_pages *pages, unsigned long n)
{
	unsigned long need = DIV_ROUND_UP(pages->nruns + n,
					  IOPT_RUNS_PER_CHUNK);
	unsigned long used = DIV_ROUND_UP(pages->nruns, IOPT_RUNS_PER_CHUNK);

	if (need > pages->nchunks) {
		unsigned long nchunks = max(need, 2 * pages->nchunks);
		struct iopt_pfn_run **chunks;

		chunks = kvcalloc(nchunks, sizeof(*chunks), GFP_KERNEL_ACCOUNT);
		if (!chunks)
			return -ENOMEM;
		if (pages->nchunks)
			memcpy(chunks, pages->run_chunks,
			       pages->nchunks * sizeof(*chunks));
		kvfree(pages->run_chunks);
		pages->run_chunks = chunks;
		pages->nchunks = nchunks;
	}
	for (; used < need; used++) {
		if (pages->run_chunks[used])
			continue;
		pages->run_chunks[used] = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
		if (!pages->run_chunks[used])
			return -ENOMEM;
	}
	return 0;
}

/* Unpins pages [first, last]; the caller returns their charge */
static void pages_unpin_range(struct iopt_pages *pages, unsigned long first,
			      unsigned long last)
{
	unsigned long i = pages_find_run(pages, first);
	unsigned long index = first;

	while (index <= last) {
		unsigned long run_last = pages_run(pages, i)->index +
					 run_npages(pages, i) - 1;
		unsigned long n = min(last, run_last) - index + 1;
		struct iopt_pfn_run *run = pages_run(pages, i);
		struct page *page = pfn_to_page(run->pfn +
						(index - run->index));

		unpin_user_page_range_dirty_lock(page, n, pages->writable);
		index += n;
		i++;
		cond_resched();
	}
	pages->npages_pinned -= last - first + 1;
}

/*
 * Appends a batch of pinned pages, merging physically contiguous ones. On
 * failure the batch is unpinned and nothing of it recorded.
 */
static int pages_add_batch(struct iopt_pages *pages, struct page **batch,
			   unsigned long n, unsigned long *next_pfn)
{
	unsigned long i;
	int rc;

	rc = iommufd_should_fail() ? -ENOMEM : pages_reserve_runs(pages, n);
	if (rc) {
		unpin_user_pages(batch, n);
		return rc;
	}
	for (i = 0; i != n; i++) {
		unsigned long pfn = page_to_pfn(batch[i]);

		if (!pages->nruns || pfn != *next_pfn) {
			struct iopt_pfn_run *run = pages_run(pages,
							     pages->nruns);

			run->index = pages->npages_pinned + i;
			run->pfn = pfn;
			pages->nruns++;
		}
		*next_pfn = pfn + 1;
	}
	pages->npages_pinned += n;
	return 0;
}

/* Gives back what the last chunk and the chunk table hold beyond the runs */
static void pages_trim_runs(struct iopt_pages *pages)
{
	unsigned long used = DIV_ROUND_UP(pages->nruns, IOPT_RUNS_PER_CHUNK);
	unsigned long in_last = pages->nruns - (used - 1) * IOPT_RUNS_PER_CHUNK;
	struct iopt_pfn_run *last;

	for (; pages->nchunks > used; pages->nchunks--) {
		kfree(pages->run_chunks[pages->nchunks - 1]);
		pages->run_chunks[pages->nchunks - 1] = NULL;
	}
	if (in_last == IOPT_RUNS_PER_CHUNK)
		return;
	/* krealloc() keeps the block it has: copy. Failing is only waste */
	last = kmemdup(pages->run_chunks[used - 1], in_last * sizeof(*last),
		       GFP_KERNEL_ACCOUNT);
	if (!last)
		return;
	kfree(pages->run_chunks[used - 1]);
	pages->run_chunks[used - 1] = last;
}

static int pages_pin(struct iopt_pages *pages)
{
	unsigned int gup_flags = FOLL_LONGTERM | (pages->writable ? FOLL_WRITE : 0);
	unsigned long batch_size = min(pages_pin_batch(), pages->npages);
	unsigned long next_pfn = 0;
	struct page **batch;
	int rc = 0;

	batch = kmalloc_array(batch_size, sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;

	while (pages->npages_pinned != pages->npages) {
		unsigned long want = min(batch_size,
					 pages->npages - pages->npages_pinned);
		long got;

		if (iommufd_should_fail()) {
			rc = -EFAULT;
			break;
		}
		got = pin_user_pages_fast(pages->uptr +
					  (pages->npages_pinned << PAGE_SHIFT),
					  want, gup_flags, batch);
		if (got <= 0) {
			rc = got ? got : -EFAULT;
			break;
		}
		rc = pages_add_batch(pages, batch, got, &next_pfn);
		if (rc)
			break;
		cond_resched();
	}
	kfree(batch);
	if (rc)
		return rc;
	pages_trim_runs(pages);
	return 0;
}

/**
 * iopt_pages_pin() - pin and charge a range of the caller's memory
 * @uptr: start of the user range, any byte
 * @length: bytes in the range, not 0
 * @writable: pin for DMA writes too (FOLL_WRITE)
 * @account_mode: enum iommufd_account_mode to charge under
 * @first_user: span node of the first user; set here to cover every page
 *
 * Context: Process context; pins from current->mm. May sleep.
 * Return: the pinned pages, held by @first_user until it is removed with
 * iopt_pages_remove_user(), or ERR_PTR: -EFAULT if part of the range cannot
 * be pinned, -ENOMEM past RLIMIT_MEMLOCK or on allocation failure,
 * -EOVERFLOW if the range wraps.
 */
struct iopt_pages *iopt_pages_pin(unsigned long uptr, unsigned long length,
				  bool writable, u8 account_mode,
				  struct interval_tree_node *first_user)
{
	unsigned long start = ALIGN_DOWN(uptr, PAGE_SIZE);
	struct iopt_pages *pages;
	unsigned long end;
	int rc;

	if (check_add_overflow(uptr, length, &end) ||
	    end > ALIGN_DOWN(ULONG_MAX, PAGE_SIZE))
		return ERR_PTR(-EOVERFLOW);

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	pages->users = RB_ROOT_CACHED;
	pages->uptr = start;
	pages->npages = (ALIGN(end, PAGE_SIZE) - start) >> PAGE_SHIFT;
	pages->writable = writable;
	pages->account_mode = account_mode;
	pages->user = get_uid(current_user());
	mmgrab(current->mm);
	pages->mm = current->mm;

	rc = pages_charge(pages, pages->npages);
	if (rc)
		goto err_free;

	rc = pages_pin(pages);
	if (rc)
		goto err_unpin;

	first_user->start = 0;
	first_user->last = pages->npages - 1;
	interval_tree_insert(first_user, &pages->users);
	return pages;

err_unpin:
	if (pages->npages_pinned)
		pages_unpin_range(pages, 0, pages->npages_pinned - 1);
	pages_free_runs(pages);
	pages_uncharge(pages, pages->npages);
err_free:
	mmdrop(pages->mm);
	free_uid(pages->user);
	mutex_destroy(&pages->mutex);
	kfree(pages);
	return ERR_PTR(rc);
}

static void iopt_pages_release(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	/* Every page went back when the user covering it did */
	WARN_ON(pages->npages_pinned);
	pages_free_runs(pages);
	mmdrop(pages->mm);
	free_uid(pages->user);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}

/**
 * iopt_pages_add_user() - register another user of pinned pages
 * @pages: the pages
 * @user: span node holding the first and last page index the user shows
 *
 * The span must already be pinned, i.e. covered by a user the caller keeps
 * from going away meanwhile. The new user holds the object.
 *
 * Context: Process context. Takes the pages mutex.
 */
void iopt_pages_add_user(struct iopt_pages *pages,
			 struct interval_tree_node *user)
{
	kref_get(&pages->kref);
	mutex_lock(&pages->mutex);
	interval_tree_insert(user, &pages->users);
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_pages_remove_user() - unregister a user of the pages
 * @pages: the pages
 * @user: a span node given to iopt_pages_pin() or iopt_pages_add_user()
 *
 * Unpins and uncharges every page of the span that no other user covers,
 * and frees the object with its last user.
 *
 * Context: Process context, may sleep. Takes the pages mutex.
 */
void iopt_pages_remove_user(struct iopt_pages *pages,
			    struct interval_tree_node *user)
{
	struct interval_tree_span_iter span;
	unsigned long released = 0;

	mutex_lock(&pages->mutex);
	interval_tree_remove(user, &pages->users);
	interval_tree_for_each_span(&span, &pages->users, user->start,
				    user->last) {
		if (!span.is_hole)
			continue;
		pages_unpin_range(pages, span.start_hole, span.last_hole);
		released += span.last_hole - span.start_hole + 1;
	}
	pages_uncharge(pages, released);
	mutex_unlock(&pages->mutex);
	kref_put(&pages->kref, iopt_pages_release);
}

/**
 * iopt_pages_walk_chunks() - walk bytes as physically contiguous chunks
 * @pages: the pages
 * @offset: first byte, relative to the page-aligned start of @pages
 * @length: bytes to walk
 * @fn: called with each chunk's offset (as @offset), physical address and
 *      length, in ascending order
 * @arg: passed to @fn
 *
 * Context: Any context @fn allows.
 * Return: 0, or the first non-zero value @fn returned.
 */
int iopt_pages_walk_chunks(struct iopt_pages *pages, unsigned long offset,
			   unsigned long length, iopt_chunk_fn_t fn, void *arg)
{
	unsigned long end = offset + length;
	unsigned long i = pages_find_run(pages, offset >> PAGE_SHIFT);
	int rc;

	while (offset != end) {
		struct iopt_pfn_run *run = pages_run(pages, i);
		unsigned long run_start = run->index << PAGE_SHIFT;
		unsigned long run_end = run_start +
					(run_npages(pages, i) << PAGE_SHIFT);
		unsigned long len = min(end, run_end) - offset;
		phys_addr_t phys = PFN_PHYS(run->pfn) + (offset - run_start);

		rc = fn(offset, phys, len, arg);
		if (rc)
			return rc;
		offset += len;
		i++;
	}
	return 0;
}

/**
 * iopt_pages_page() - the struct page of one pinned page
 * @pages: the pages
 * @index: the page's index, covered by a user of @pages
 *
 * Context: Any context.
 * Return: the page.
 */
struct page *iopt_pages_page(struct iopt_pages *pages, unsigned long index)
{
	struct iopt_pfn_run *run = pages_run(pages,
					     pages_find_run(pages, index));

	return pfn_to_page(run->pfn + (index - run->index));
}
