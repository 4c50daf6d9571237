/* derive_template.c: fuzzed templates for C_DeriveKey (PKCS#11 2.40 §4.1.1,
 * §5.14): the attributes of a secret key, the ones the token computes, and
 * some a secret key lacks, with values of the right shape (CK_ULONG,
 * CK_BBOOL, CK_DATE, a CK_MECHANISM_TYPE list) or raw bytes. */
#include <string.h>
#include "fuzz.h"

/* derive_attrs are the types picked by index. Other indexes read a raw type. */
static const CK_ATTRIBUTE_TYPE derive_attrs[] = {
  CKA_CLASS, CKA_KEY_TYPE, CKA_VALUE_LEN, CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE,
  CKA_DESTROYABLE, CKA_MODIFIABLE, CKA_COPYABLE, CKA_DERIVE, CKA_ENCRYPT, CKA_SIGN, CKA_TRUSTED,
  CKA_WRAP_WITH_TRUSTED, CKA_LABEL, CKA_ID, CKA_START_DATE, CKA_END_DATE, CKA_ALLOWED_MECHANISMS,
  CKA_CHECK_VALUE, CKA_VALUE, CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
  CKA_KEY_GEN_MECHANISM, CKA_MODULUS, CKA_EC_POINT,
};
#define N_DERIVE_ATTRS (sizeof derive_attrs / sizeof derive_attrs[0])

/* ulong_values are the CK_ULONG values picked by index: classes, key types,
 * AES and other lengths, and the bounds around the module's limits. */
static const CK_ULONG ulong_values[] = {
  CKO_SECRET_KEY, CKO_PRIVATE_KEY, CKO_DATA, CKK_GENERIC_SECRET, CKK_AES, CKK_DES3, CKK_EC,
  16, 24, 32, 48, 64, 66, 0, 1, 1024, 1025, (1UL << 20) + 1,
};
#define N_ULONG_VALUES (sizeof ulong_values / sizeof ulong_values[0])

static const CK_MECHANISM_TYPE list_mechs[] = {CKM_ECDH1_DERIVE, CKM_AES_GCM, CKM_SHA256_HMAC, CKM_ECDSA};

void fz_key_template(fz_reader *r, fz_template *t) {
  uint8_t n = fz_u8(r);
  t->bad = 0;
  t->has_len = 0;
  if (n == 0xFF) { /* NULL with a count */
    t->ptr = NULL;
    t->count = fz_u64(r) | 1;
    t->bad = 1;
    return;
  }
  t->count = n % (FZ_TEMPLATE + 1);
  t->ptr = (t->count == 0 && (n & 0x80)) ? NULL : t->a;
  for (CK_ULONG i = 0; i < t->count; i++) {
    CK_ATTRIBUTE *a = &t->a[i];
    uint8_t *v = t->values[i];
    uint8_t c = fz_u8(r);
    a->type = c < N_DERIVE_ATTRS ? derive_attrs[c] : c == 0xFF ? (CK_ATTRIBUTE_TYPE)fz_u64(r) : fz_u32(r);
    a->pValue = v;
    uint8_t k = fz_u8(r);
    switch (k % 8) {
    case 0: {
      uint8_t x = fz_u8(r);
      CK_ULONG u = x < N_ULONG_VALUES ? ulong_values[x] : fz_u32(r);
      memcpy(v, &u, sizeof u);
      a->ulValueLen = sizeof u;
      break;
    }
    case 1: /* CK_BBOOL: CK_TRUE, CK_FALSE or another byte */
      v[0] = (k & 0x80) ? fz_u8(r) : fz_u8(r) & 1;
      a->ulValueLen = 1;
      break;
    case 2:
      a->ulValueLen = fz_take(r, v, fz_u8(r) % (FZ_VALUE + 1));
      break;
    case 3:
      a->pValue = NULL;
      a->ulValueLen = 0;
      break;
    case 4: /* NULL with a length: CKR_ARGUMENTS_BAD */
      a->pValue = NULL;
      a->ulValueLen = fz_u64(r) | 1;
      t->bad = 1;
      break;
    case 5: /* CK_DATE (PKCS#11 2.40 §3.3): 8 characters */
      memcpy(v, "20261127", 8);
      if (k & 0x80) fz_take(r, v, 8);
      a->ulValueLen = 8;
      break;
    case 6: { /* a CK_MECHANISM_TYPE list, or one a byte short */
      size_t m = fz_u8(r) % 5;
      for (size_t j = 0; j < m; j++) {
        CK_MECHANISM_TYPE mt = list_mechs[fz_u8(r) % 4];
        memcpy(v + j * sizeof mt, &mt, sizeof mt);
      }
      a->ulValueLen = m * sizeof(CK_MECHANISM_TYPE) - ((k & 0x80) && m ? 1 : 0);
      break;
    }
    default: {
      CK_ULONG u = fz_u64(r);
      memcpy(v, &u, sizeof u);
      a->ulValueLen = sizeof u;
    }
    }
    if (a->type == CKA_VALUE_LEN && a->pValue != NULL && a->ulValueLen == sizeof(CK_ULONG)) {
      t->has_len = 1;
      memcpy(&t->value_len, v, sizeof(CK_ULONG));
    }
  }
}
