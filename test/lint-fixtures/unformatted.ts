// Bad on purpose: not as Prettier writes it.
export const   badlyFormatted = { a:1,
      b : [ 1,2 ,3 ] }
