/* SPDX-License-Identifier: Apache-2.0 */
/* atomik/export.h: ATOMIK_EXPORT marks a symbol that the shared library
 * exports. The library is built with hidden visibility by default, so
 * anything public that is defined out of line carries this mark. C and C++. */
#ifndef ATOMIK_EXPORT_H_
#define ATOMIK_EXPORT_H_

#if defined(__GNUC__) || defined(__clang__)
#define ATOMIK_EXPORT __attribute__((visibility("default")))
#else
#define ATOMIK_EXPORT
#endif

#endif /* ATOMIK_EXPORT_H_ */
