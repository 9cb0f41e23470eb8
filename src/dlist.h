/* dlist.h - the one doubly linked list of the allocator's own records: a
 * heap's arenas, the large mappings, the thread caches, the created heaps
 * and their mappings.  Any struct with next and prev pointers, its list a
 * head pointer; macros, as the records differ in type.  The caller holds
 * the list's lock; each argument is evaluated more than once. */
#ifndef HAWK_DLIST_H
#define HAWK_DLIST_H

/* Puts node at the front of the list at head. */
#define DLIST_PUSH(head, node)                                                                     \
  do {                                                                                             \
    (node)->prev = NULL;                                                                           \
    (node)->next = (head);                                                                         \
    if (head) (head)->prev = (node);                                                               \
    (head) = (node);                                                                               \
  } while (0)

/* Takes node out of the list at head. */
#define DLIST_REMOVE(head, node)                                                                   \
  do {                                                                                             \
    if ((node)->prev)                                                                              \
      (node)->prev->next = (node)->next;                                                           \
    else                                                                                           \
      (head) = (node)->next;                                                                       \
    if ((node)->next) (node)->next->prev = (node)->prev;                                           \
  } while (0)

#endif /* HAWK_DLIST_H */
