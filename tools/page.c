/* page.c - the explorer's page (tools/view/page.html: its markup, style and
 * script, with the marker where view.c puts the data), built into hawk. */
__asm__(".section .rodata\n"
        ".global view_page\n"
        ".type view_page, @object\n"
        "view_page:\n"
        ".incbin \"tools/view/page.html\"\n"
        ".byte 0\n"
        ".size view_page, . - view_page\n"
        ".previous\n");
