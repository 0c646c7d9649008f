// A lower layer's public face.
export const serverName = 'panda';
