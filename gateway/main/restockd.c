/* SPDX-License-Identifier: Apache-2.0 */
/* restockd: placeholder until the daemon lands. */
#include <stdio.h>
int main(void)
{
  fputs("restockd: not built yet\n", stderr);
  return 2;
}
