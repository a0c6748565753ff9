/* SPDX-License-Identifier: Apache-2.0 */
#include "base/version.h"

const char *rs_version(void)
{
  return RESTOCK_VERSION;
}
