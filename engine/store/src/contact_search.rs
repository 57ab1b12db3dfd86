//! Finding contacts by a phone number as a person types it: normalised with the list's
//! country, then looked up in E.164.

use crate::contacts::Contact;
use crate::error::StoreError;
use crate::import::phone::{PhoneNormaliser, parse_country};
use crate::pool::Store;
use crate::validation::{FieldError, ValidationErrors};

impl Store {
    /// The contacts of list `list_id` with the phone number `typed` (any format the
    /// list's country understands: `(11) 98765-4321`, `+55 11 98765 4321`).
    pub async fn find_contacts_by_phone(
        &self,
        list_id: i64,
        typed: &str,
    ) -> Result<Vec<Contact>, StoreError> {
        let list = self.contact_list(list_id).await?;
        let country = parse_country(&list.default_country)
            .ok_or_else(|| crate::validation::corrupt("default_country", &list.default_country))?;
        let e164 = PhoneNormaliser::new(country)
            .normalise(typed)
            .map_err(|why| {
                StoreError::Validation(ValidationErrors(vec![FieldError {
                    path: "phone".into(),
                    code: "format".into(),
                    message: format!("`{typed}` is {why}"),
                }]))
            })?;
        self.contacts_with_phone(list_id, &e164).await
    }
}
