/* SPDX-License-Identifier: Apache-2.0 */
/* restockctl: placeholder until the daemon lands. */
#include <stdio.h>
int main(void)
{
  fputs("restockctl: not built yet\n", stderr);
  return 2;
}
