/* SPDX-License-Identifier: Apache-2.0 */
#ifndef RS_VERSION_H
#define RS_VERSION_H
/* The version string compiled in from CMakeLists.txt (project(restock VERSION ...)). */
const char *rs_version(void);
#endif
