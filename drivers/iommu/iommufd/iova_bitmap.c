// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-page bitmaps written straight into user memory.
 *
 * A struct iova_bitmap describes a user-supplied array of u64 in which bit
 * N stands for the page of size page_size that starts at iova + N *
 * page_size. It owns the bookkeeping for that range and, while a walk is
 * in progress, one batch of pinned pages of the user array. It never owns
 * the user memory itself.
 *
 * The user array may be far bigger than we want to pin at once, so
 * iova_bitmap_for_each() slides a window over it: it pins at most one
 * page worth of struct page pointers (with FOLL_WRITE), works out which
 * IOVA span the pinned bits describe and hands that span to the caller's
 * function, which reports dirty IOVAs with iova_bitmap_set(). The window
 * is then unpinned, marked dirty, and the walk moves to the next one.
 *
 * A report may extend past the end of the window, e.g. when an IOMMU
 * driver finds a dirty large IOPTE that straddles it. The part beyond the
 * window is kept as a pending bit range and written when a later window
 * covers it. Disjoint reports beyond the window are merged into that one
 * range, which may over-report but never drops a dirty page. Parts below
 * the window or outside the bitmap are ignored.
 *
 * Context: alloc, free and for_each run in process context and may sleep;
 * for_each pins pages of current->mm. iova_bitmap_set() never sleeps (it
 * only uses kmap_local_page()), so drivers may call it under a spinlock,
 * but only from inside the function given to iova_bitmap_for_each(). The
 * walk is single threaded: calls for one bitmap must not run concurrently.
 */
#include <linux/highmem.h>
#include <linux/iova_bitmap.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

/* Bits held by one page of the user array */
#define IOVA_BITMAP_PAGE_BITS	(PAGE_SIZE * BITS_PER_BYTE)

/* At most one page worth of struct page pointers is pinned per window */
#define IOVA_BITMAP_MAX_PINNED	(PAGE_SIZE / sizeof(struct page *))

struct iova_bitmap {
	/* Whole range, fixed at allocation; @last is inclusive */
	unsigned long iova;
	unsigned long last;
	unsigned int pgshift;
	unsigned long nbits;
	u64 __user *data;

	/* Current window, valid only while fn runs */
	struct page **pages;
	unsigned long max_pinned;
	unsigned long npinned;
	unsigned long win_bit;		/* index of the window's first bit */
	unsigned long win_nbits;
	unsigned long win_skew;		/* bit offset of win_bit in pages[0] */

	/* Bits reported past the window, not written yet */
	bool pending;
	unsigned long pend_first;
	unsigned long pend_last;
};

/**
 * iova_bitmap_alloc() - Describe a user dirty bitmap for an IOVA range
 * @iova: first IOVA covered by the bitmap
 * @length: number of bytes of IOVA covered, at least 1
 * @page_size: IOVA bytes per bit, a power of two
 * @data: user array of u64, aligned to 8 bytes; bit N of the array stands
 *	for the page at @iova + N * @page_size
 *
 * Only validates the arguments and allocates the tracking state; no user
 * page is touched until iova_bitmap_for_each().
 *
 * Context: Process context. May sleep.
 * Return: the new bitmap, to be released with iova_bitmap_free(), or
 * ERR_PTR(-EINVAL) for a zero @length, a bad @page_size or a misaligned
 * @data, ERR_PTR(-EOVERFLOW) if the IOVA range wraps, ERR_PTR(-EFAULT) if
 * the user array is not a valid user address range, ERR_PTR(-ENOMEM).
 */
struct iova_bitmap *iova_bitmap_alloc(unsigned long iova, size_t length,
				      unsigned long page_size,
				      u64 __user *data)
{
	unsigned long user_addr = (unsigned long)data;
	struct iova_bitmap *bitmap;
	unsigned long nbytes;
	unsigned long last;
	unsigned long npages;

	if (!length || !is_power_of_2(page_size) ||
	    !IS_ALIGNED(user_addr, sizeof(u64)))
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(iova, length - 1, &last))
		return ERR_PTR(-EOVERFLOW);

	bitmap = kzalloc(sizeof(*bitmap), GFP_KERNEL);
	if (!bitmap)
		return ERR_PTR(-ENOMEM);

	bitmap->iova = iova;
	bitmap->last = last;
	bitmap->pgshift = __ffs(page_size);
	bitmap->nbits = ((length - 1) >> bitmap->pgshift) + 1;
	bitmap->data = data;

	/* Whole u64 words, written without overflowing near ULONG_MAX bits */
	nbytes = (bitmap->nbits - 1) / BITS_PER_TYPE(u64) * sizeof(u64) +
		 sizeof(u64);
	if (!access_ok(data, nbytes)) {
		kfree(bitmap);
		return ERR_PTR(-EFAULT);
	}

	npages = (offset_in_page(user_addr) + nbytes - 1) / PAGE_SIZE + 1;
	bitmap->max_pinned = min_t(unsigned long, npages,
				   IOVA_BITMAP_MAX_PINNED);
	bitmap->pages = kcalloc(bitmap->max_pinned, sizeof(*bitmap->pages),
				GFP_KERNEL);
	if (!bitmap->pages) {
		kfree(bitmap);
		return ERR_PTR(-ENOMEM);
	}
	return bitmap;
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_alloc, IOMMUFD);

/**
 * iova_bitmap_free() - Release a bitmap made by iova_bitmap_alloc()
 * @bitmap: the bitmap, or NULL
 *
 * The user array is left as the last walk wrote it.
 *
 * Context: Process context, not from inside iova_bitmap_for_each().
 */
void iova_bitmap_free(struct iova_bitmap *bitmap)
{
	if (!bitmap)
		return;
	kfree(bitmap->pages);
	kfree(bitmap);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_free, IOMMUFD);

/* Set @count bits starting at bit @pos of the window, page by page */
static void iova_bitmap_write(struct iova_bitmap *bitmap, unsigned long pos,
			      unsigned long count)
{
	pos += bitmap->win_skew;
	while (count) {
		struct page *page = bitmap->pages[pos / IOVA_BITMAP_PAGE_BITS];
		unsigned long off = pos % IOVA_BITMAP_PAGE_BITS;
		unsigned long n = min(count, IOVA_BITMAP_PAGE_BITS - off);
		unsigned long *kaddr = kmap_local_page(page);

		bitmap_set(kaddr, off, n);
		kunmap_local(kaddr);
		flush_dcache_page(page);
		pos += n;
		count -= n;
	}
}

/*
 * Write the bits [@first, @last] (bitmap indices, inclusive) that fall in
 * the window and remember those beyond it.
 */
static void iova_bitmap_set_bits(struct iova_bitmap *bitmap,
				 unsigned long first, unsigned long last)
{
	unsigned long win_end = bitmap->win_bit + bitmap->win_nbits;

	if (last >= win_end) {
		unsigned long beyond = max(first, win_end);

		if (bitmap->pending) {
			bitmap->pend_first = min(bitmap->pend_first, beyond);
			bitmap->pend_last = max(bitmap->pend_last, last);
		} else {
			bitmap->pending = true;
			bitmap->pend_first = beyond;
			bitmap->pend_last = last;
		}
		if (first >= win_end)
			return;
		last = win_end - 1;
	}
	if (last < bitmap->win_bit)
		return;
	first = max(first, bitmap->win_bit);
	iova_bitmap_write(bitmap, first - bitmap->win_bit, last - first + 1);
}

/**
 * iova_bitmap_set() - Mark an IOVA range dirty
 * @bitmap: the bitmap being walked
 * @iova: first dirty IOVA
 * @length: number of dirty bytes; 0 does nothing
 *
 * Sets the bit of every page that [@iova, @iova + @length) touches. Parts
 * below the current window or outside the bitmap are ignored; parts past
 * the end of the window are kept and written when the walk reaches them.
 *
 * Context: Any context; does not sleep. Only from the function passed to
 * iova_bitmap_for_each(), never concurrently for the same @bitmap.
 */
void iova_bitmap_set(struct iova_bitmap *bitmap,
		     unsigned long iova, size_t length)
{
	unsigned long first = max(iova, bitmap->iova);
	unsigned long last;

	if (!length)
		return;
	if (check_add_overflow(iova, length - 1, &last))
		last = ULONG_MAX;
	last = min(last, bitmap->last);
	if (first > last)
		return;

	iova_bitmap_set_bits(bitmap, (first - bitmap->iova) >> bitmap->pgshift,
			     (last - bitmap->iova) >> bitmap->pgshift);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_set, IOMMUFD);

/* Pin the user pages holding the bits from bitmap->win_bit onwards */
static int iova_bitmap_pin_window(struct iova_bitmap *bitmap)
{
	unsigned long byte = bitmap->win_bit / BITS_PER_BYTE;
	unsigned long addr = (unsigned long)bitmap->data + byte;
	unsigned long left = bitmap->nbits - bitmap->win_bit;
	unsigned long last_byte, npages, room;
	int ret;

	/* Only the first window can start inside a page; all start on a byte */
	bitmap->win_skew = offset_in_page(addr) * BITS_PER_BYTE;
	last_byte = offset_in_page(addr) + (left - 1) / BITS_PER_BYTE;
	npages = min(last_byte / PAGE_SIZE + 1, bitmap->max_pinned);

	ret = pin_user_pages_fast(addr & PAGE_MASK, npages, FOLL_WRITE,
				  bitmap->pages);
	if (ret <= 0)
		return ret ? ret : -EFAULT;

	/* A short pin just makes a smaller window */
	bitmap->npinned = ret;
	room = bitmap->npinned * IOVA_BITMAP_PAGE_BITS - bitmap->win_skew;
	bitmap->win_nbits = min(left, room);
	return 0;
}

static void iova_bitmap_unpin_window(struct iova_bitmap *bitmap)
{
	unpin_user_pages_dirty_lock(bitmap->pages, bitmap->npinned, true);
	bitmap->npinned = 0;
	bitmap->win_nbits = 0;
}

/* Write what earlier windows left for this one */
static void iova_bitmap_apply_pending(struct iova_bitmap *bitmap)
{
	if (!bitmap->pending)
		return;
	bitmap->pending = false;
	iova_bitmap_set_bits(bitmap, bitmap->pend_first, bitmap->pend_last);
}

/**
 * iova_bitmap_for_each() - Walk the bitmap one pinned window at a time
 * @bitmap: the bitmap from iova_bitmap_alloc()
 * @opaque: passed unchanged to @fn
 * @fn: called once per window with the IOVA span the window covers; it
 *	reports dirty IOVAs with iova_bitmap_set()
 *
 * The windows are visited in increasing IOVA order and together cover
 * exactly the range given to iova_bitmap_alloc(). The pages of each
 * window are unpinned and marked dirty before the next one is pinned.
 *
 * Context: Process context. May sleep; pins pages of current->mm.
 * Return: 0 when every window was walked, otherwise the error of
 * pin_user_pages_fast() (-EFAULT if it pinned nothing) or the first
 * non-zero value returned by @fn, which stops the walk.
 */
int iova_bitmap_for_each(struct iova_bitmap *bitmap, void *opaque,
			 iova_bitmap_fn_t fn)
{
	int ret;

	bitmap->pending = false;
	bitmap->win_bit = 0;
	while (bitmap->win_bit < bitmap->nbits) {
		unsigned long win_end, iova, last;

		ret = iova_bitmap_pin_window(bitmap);
		if (ret)
			return ret;

		win_end = bitmap->win_bit + bitmap->win_nbits;
		iova = bitmap->iova + (bitmap->win_bit << bitmap->pgshift);
		/* The last bit may stand for a partial page; avoid wrapping */
		if (win_end == bitmap->nbits)
			last = bitmap->last;
		else
			last = bitmap->iova + (win_end << bitmap->pgshift) - 1;

		iova_bitmap_apply_pending(bitmap);
		ret = fn(bitmap, iova, last - iova + 1, opaque);
		iova_bitmap_unpin_window(bitmap);
		if (ret)
			return ret;
		bitmap->win_bit = win_end;
	}
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_for_each, IOMMUFD);
